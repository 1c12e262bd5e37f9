// fleet.json parsing and validation: one case per rule, each checking both
// the JSON pointer and the problem text of the first error.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <optional>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/config.hpp"
#include "core/error.hpp"
#include "core/suggest.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using rusty::ConfigError;
using rusty::FleetSpec;
using rusty::NetworkMode;
using rusty::parse_fleet;
using rusty::test::TempDir;
using Strings = std::vector<std::string>;

namespace {

// Sets or unsets an environment variable for the scope, then restores it.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) {
        if (const char* old = ::getenv(name)) old_ = old;
        if (value)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ~ScopedEnv() {
        if (old_)
            ::setenv(name_.c_str(), old_->c_str(), 1);
        else
            ::unsetenv(name_.c_str());
    }

private:
    std::string name_;
    std::optional<std::string> old_;
};

FleetSpec parse(std::string_view text, const fs::path& base_dir = "/") {
    return parse_fleet(text, base_dir, "test");
}

struct Failure {
    std::string pointer;
    std::string problem;
};

Failure failure_of(std::string_view text, const fs::path& base_dir = "/") {
    try {
        parse_fleet(text, base_dir, "test");
    } catch (const ConfigError& error) {
        return {error.pointer(), error.problem()};
    }
    return {"(parsed without error)", "(parsed without error)"};
}

#define CHECK_FAILS(text, expected_pointer, expected_problem) \
    do {                                                      \
        const Failure failure = failure_of(text);             \
        CHECK(failure.pointer == (expected_pointer));         \
        CHECK(failure.problem == (expected_problem));         \
    } while (false)

// A fleet with one container "web" whose body is `fields` (no braces),
// e.g. with_web(R"("image": "busybox", "command": ["true"])").
std::string with_web(std::string_view fields) {
    return R"({"containers": {"web": {)" + std::string(fields) + "}}}";
}

// `with_web` with a valid image and command, plus `extra` fields.
std::string web_plus(std::string_view extra) {
    return with_web(R"("image": "busybox", "command": ["true"], )" + std::string(extra));
}

const rusty::ContainerSpec& only_container(const FleetSpec& fleet) {
    REQUIRE(fleet.containers.size() == 1);
    return fleet.containers.front();
}

}  // namespace

// ---- good documents ----------------------------------------------------------

TEST_CASE("a minimal fleet gets the documented defaults", "[config]") {
    const FleetSpec fleet =
        parse(R"({"containers": {"web": {"image": "busybox", "command": ["true"]}}})");
    CHECK(fleet.name == "test");
    const auto& web = only_container(fleet);
    CHECK(web.name == "web");
    CHECK(web.image == "busybox");
    CHECK(web.rootfs.empty());
    CHECK(web.argv == Strings{"true"});
    CHECK(web.env.empty());
    CHECK(web.working_dir == "/");
    CHECK(web.user.empty());
    CHECK(web.hostname == "web");
    CHECK(web.network == NetworkMode::None);
    CHECK_FALSE(web.read_only);
}

TEST_CASE("every field is read", "[config]") {
    const FleetSpec fleet = parse(R"json({
        "$schema": "./schema/fleet.schema.json",
        "name": "prod_1",
        "x-anchors": {"anything": [1, 2]},
        "containers": {
            "api": {
                "image": "busybox:latest",
                "entrypoint": ["/bin/sh", "-c"],
                "command": "echo 'hello world'",
                "environment": {"A": "1"},
                "working_dir": "/srv",
                "user": "1000:1000",
                "hostname": "api.local",
                "network": "host",
                "read_only": true,
                "x-note": "ignored"
            }
        }
    })json");
    CHECK(fleet.name == "prod_1");
    const auto& api = only_container(fleet);
    CHECK(api.image == "busybox");
    CHECK(api.argv == Strings{"/bin/sh", "-c", "echo", "hello world"});
    CHECK(api.env == Strings{"A=1"});
    CHECK(api.working_dir == "/srv");
    CHECK(api.user == "1000:1000");
    CHECK(api.hostname == "api.local");
    CHECK(api.network == NetworkMode::Host);
    CHECK(api.read_only);
}

TEST_CASE("containers keep the file's order", "[config]") {
    const FleetSpec fleet = parse(R"({"containers": {
        "zeta": {"image": "busybox", "command": "true"},
        "alpha": {"image": "busybox", "command": "true"},
        "mid": {"image": "busybox", "command": "true"}}})");
    REQUIRE(fleet.containers.size() == 3);
    CHECK(fleet.containers[0].name == "zeta");
    CHECK(fleet.containers[1].name == "alpha");
    CHECK(fleet.containers[2].name == "mid");
}

// ---- top level ---------------------------------------------------------------

TEST_CASE("the document must be an object", "[config]") {
    CHECK_FAILS("[]", "", "expected an object");
    CHECK_FAILS("\"fleet\"", "", "expected an object");
}

TEST_CASE("fleet name", "[config]") {
    SECTION("valid") {
        CHECK(
            parse(R"({"name": "a-b_9", "containers": {"w": {"image": "busybox", "command": "x"}}})")
                .name == "a-b_9");
    }
    SECTION("uppercase") {
        CHECK_FAILS(R"({"name": "Prod"})", "/name",
                    "invalid fleet name \"Prod\": use 1 to 63 lowercase letters, digits, '_' and "
                    "'-', starting with a letter or digit");
    }
    SECTION("leading dash") {
        CHECK(failure_of(R"({"name": "-x"})").pointer == "/name");
    }
    SECTION("empty") {
        CHECK(failure_of(R"({"name": ""})").pointer == "/name");
    }
    SECTION("63 characters is the limit") {
        const std::string ok(63, 'a');
        CHECK(parse(R"({"name": ")" + ok +
                    R"(", "containers": {"w": {"image": "busybox", "command": "x"}}})")
                  .name == ok);
        CHECK(failure_of(R"({"name": ")" + ok + R"(a"})").pointer == "/name");
    }
    SECTION("wrong type") {
        CHECK_FAILS(R"({"name": 7})", "/name", "expected a string");
    }
}

TEST_CASE("the default name is made valid", "[config]") {
    const std::string body = R"({"containers": {"w": {"image": "busybox", "command": "x"}}})";
    CHECK(parse_fleet(body, "/", "fleet").name == "fleet");
    CHECK(parse_fleet(body, "/", "My Fleet.v2").name == "my-fleet-v2");
    CHECK(parse_fleet(body, "/", "_café").name == "caf-");
    CHECK(parse_fleet(body, "/", ".json").name == "json");
    CHECK(parse_fleet(body, "/", "").name == "fleet");
    CHECK(parse_fleet(body, "/", std::string(80, 'A')).name == std::string(63, 'a'));
}

TEST_CASE("unknown top-level fields", "[config]") {
    SECTION("with a suggestion") {
        CHECK_FAILS(R"({"container": {}})", "/container",
                    "unknown field; did you mean \"containers\"?");
        CHECK_FAILS(R"({"nmae": "x"})", "/nmae", "unknown field; did you mean \"name\"?");
    }
    SECTION("without a suggestion") {
        CHECK_FAILS(R"({"version": "3.8"})", "/version", "unknown field");
    }
    SECTION("keys are pointer-escaped") {
        CHECK_FAILS(R"({"a/b~c": 1})", "/a~1b~0c", "unknown field");
    }
    SECTION("x- fields and $schema are ignored") {
        const FleetSpec fleet = parse(R"({"x-base": {"whatever": null}, "$schema": "s",
            "containers": {"w": {"image": "busybox", "command": "x"}}})");
        CHECK(fleet.containers.size() == 1);
    }
    SECTION("$schema must be a string") {
        CHECK_FAILS(R"({"$schema": 1})", "/$schema", "expected a string");
    }
}

TEST_CASE("containers is required and not empty", "[config]") {
    CHECK_FAILS(R"({"name": "x"})", "", "missing \"containers\"");
    CHECK_FAILS(R"({"containers": {}})", "/containers", "no containers");
    CHECK_FAILS(R"({"containers": []})", "/containers", "expected an object");
}

TEST_CASE("services is an alias of containers", "[config]") {
    SECTION("accepted") {
        const FleetSpec fleet =
            parse(R"({"services": {"w": {"image": "busybox", "command": "x"}}})");
        CHECK(only_container(fleet).name == "w");
    }
    SECTION("pointers say services") {
        CHECK_FAILS(R"({"services": {"w": {"image": "nginx"}}})", "/services/w/image",
                    "unknown image \"nginx\"; the built-in images are: busybox (use \"rootfs\" "
                    "for your own root filesystem)");
        CHECK_FAILS(R"({"services": {}})", "/services", "no containers");
    }
    SECTION("not both") {
        CHECK_FAILS(R"({"containers": {"a": {}}, "services": {"b": {}}})", "/services",
                    "\"services\" is an alias of \"containers\"; give only one");
        CHECK_FAILS(R"({"services": {"b": {}}, "containers": {"a": {}}})", "/services",
                    "\"services\" is an alias of \"containers\"; give only one");
    }
}

// ---- container names and duplicates ------------------------------------------

TEST_CASE("container names", "[config]") {
    const std::string rule =
        ": use 1 to 63 letters, digits, '_', '.' and '-', starting with a letter or digit";
    SECTION("valid characters") {
        const FleetSpec fleet =
            parse(R"({"containers": {"Web_1.a-b": {"image": "busybox", "command": "x"}}})");
        CHECK(only_container(fleet).name == "Web_1.a-b");
    }
    SECTION("space") {
        CHECK_FAILS(R"({"containers": {"my web": {}}})", "/containers/my web",
                    "invalid container name \"my web\"" + rule);
    }
    SECTION("slash and tilde are escaped in the pointer") {
        CHECK_FAILS(R"({"containers": {"a/b": {}}})", "/containers/a~1b",
                    "invalid container name \"a/b\"" + rule);
        CHECK_FAILS(R"({"containers": {"~a": {}}})", "/containers/~0a",
                    "invalid container name \"~a\"" + rule);
    }
    SECTION("names the fleet's state directory uses for itself") {
        CHECK_FAILS(R"({"containers": {"lock": {"image": "busybox", "command": "x"}}})", "/containers/lock",
                    "the container name \"lock\" is reserved for the fleet's own state");
        CHECK_FAILS(R"({"containers": {"supervisor.json": {}}})", "/containers/supervisor.json",
                    "the container name \"supervisor.json\" is reserved for the fleet's own state");
    }
    SECTION("leading dot, empty, too long") {
        CHECK(failure_of(R"({"containers": {"..": {}}})").pointer == "/containers/..");
        CHECK(failure_of(R"({"containers": {"": {}}})").pointer == "/containers/");
        const std::string long_name(64, 'a');
        CHECK(failure_of(R"({"containers": {")" + long_name + R"(": {}}})").pointer ==
              "/containers/" + long_name);
    }
    SECTION("services in the pointer") {
        CHECK(failure_of(R"({"services": {"a b": {}}})").pointer == "/services/a b");
    }
}

TEST_CASE("duplicate keys are errors", "[config]") {
    SECTION("container name") {
        CHECK_FAILS(R"({"containers": {"web": {}, "web": {}}})", "/containers/web",
                    "duplicate container name \"web\"");
        CHECK_FAILS(R"({"services": {"web": {}, "web": {}}})", "/services/web",
                    "duplicate container name \"web\"");
    }
    SECTION("container field") {
        CHECK_FAILS(with_web(R"("image": "busybox", "image": "busybox")"), "/containers/web/image",
                    "duplicate key");
    }
    SECTION("top level") {
        CHECK_FAILS(R"({"name": "a", "name": "b"})", "/name", "duplicate key");
    }
    SECTION("inside arrays and extensions") {
        CHECK_FAILS(R"({"x-y": [{}, {"a": 1, "a": 2}]})", "/x-y/1/a", "duplicate key");
        CHECK_FAILS(R"({"x-y": [1, [2, {"k": 0, "k": 0}]]})", "/x-y/1/1/k", "duplicate key");
    }
    SECTION("environment keys") {
        CHECK_FAILS(with_web(R"("environment": {"A": "1", "A": "2"})"),
                    "/containers/web/environment/A", "duplicate key");
    }
    SECTION("the same key in different objects is fine") {
        const FleetSpec fleet = parse(R"({"containers": {
            "a": {"image": "busybox", "command": "x"},
            "b": {"image": "busybox", "command": "x"}}})");
        CHECK(fleet.containers.size() == 2);
    }
}

// ---- JSON syntax ---------------------------------------------------------------

TEST_CASE("invalid JSON names line and column", "[config]") {
    SECTION("bare word") {
        const Failure failure = failure_of("{\n  \"containers\": {\n    oops\n");
        CHECK(failure.pointer.empty());
        CHECK_THAT(failure.problem, Catch::StartsWith("invalid JSON at line 3, column 5: "));
        CHECK_THAT(failure.problem, !Catch::Contains("json.exception"));
    }
    SECTION("trailing comma") {
        const Failure failure = failure_of("{\"containers\": {},}");
        CHECK_THAT(failure.problem, Catch::StartsWith("invalid JSON at line 1, column 19: "));
    }
    SECTION("columns count characters, not bytes") {
        const Failure failure = failure_of("{\"é\": x}");
        CHECK_THAT(failure.problem, Catch::StartsWith("invalid JSON at line 1, column 7: "));
    }
    SECTION("truncated") {
        const Failure failure = failure_of("{\"containers\": ");
        CHECK(failure.pointer.empty());
        CHECK_THAT(failure.problem, Catch::StartsWith("invalid JSON at line 1, column "));
    }
    SECTION("empty document") {
        CHECK_FAILS("", "", "empty document; expected a JSON object");
        CHECK_FAILS(" \n\t", "", "empty document; expected a JSON object");
    }
    SECTION("number out of range") {
        const Failure failure = failure_of(R"({"x-n": 1e999})");
        CHECK(failure.pointer.empty());
        CHECK_THAT(failure.problem, Catch::StartsWith("invalid JSON"));
    }
}

TEST_CASE("ConfigError composes pointer and problem", "[config]") {
    try {
        parse(with_web(R"("image": 1)"));
        FAIL("no error");
    } catch (const ConfigError& error) {
        CHECK(std::string(error.what()) == "/containers/web/image: expected a string");
    }
}

// ---- per-container rules --------------------------------------------------------

TEST_CASE("a container must be an object", "[config]") {
    CHECK_FAILS(R"({"containers": {"web": "busybox"}})", "/containers/web", "expected an object");
}

TEST_CASE("unknown container fields", "[config]") {
    CHECK_FAILS(with_web(R"("comand": "x")"), "/containers/web/comand",
                "unknown field; did you mean \"command\"?");
    CHECK_FAILS(with_web(R"("imgae": "busybox")"), "/containers/web/imgae",
                "unknown field; did you mean \"image\"?");
    CHECK_FAILS(with_web(R"("env": {})"), "/containers/web/env",
                "unknown field; did you mean \"environment\"?");
    CHECK_FAILS(with_web(R"("ports": ["80:80"])"), "/containers/web/ports", "unknown field");
    SECTION("x- fields are ignored") {
        CHECK(only_container(parse(web_plus(R"("x-owner": "me")"))).name == "web");
    }
}

TEST_CASE("errors come in document order", "[config]") {
    CHECK_FAILS(with_web(R"("user": "ROOT", "hostname": "a b")"), "/containers/web/user",
                "invalid user \"ROOT\"; expected uid, uid:gid, name or name:group (IDs below "
                "4294967295)");
    CHECK_FAILS(R"({"containers": {"a": {"image": 1}, "b": {"image": 2}}})", "/containers/a/image",
                "expected a string");
    // Unknown fields are reported where they are, before missing ones.
    CHECK_FAILS(with_web(R"("comand": "x")"), "/containers/web/comand",
                "unknown field; did you mean \"command\"?");
}

TEST_CASE("image", "[config]") {
    CHECK(only_container(parse(with_web(R"("image": "busybox:latest", "command": "x")"))).image ==
          "busybox");
    CHECK_FAILS(with_web(R"("image": "nginx")"), "/containers/web/image",
                "unknown image \"nginx\"; the built-in images are: busybox (use \"rootfs\" for "
                "your own root filesystem)");
    CHECK_FAILS(with_web(R"("image": "busybox:1.36")"), "/containers/web/image",
                "unknown image \"busybox:1.36\"; the built-in images are: busybox (use \"rootfs\" "
                "for your own root filesystem)");
    CHECK_FAILS(with_web(R"("image": ["busybox"])"), "/containers/web/image", "expected a string");
}

TEST_CASE("rootfs", "[config]") {
    TempDir tmp;
    const fs::path rootfs = tmp.make_dir("images/alpine");
    tmp.write("file", "not a dir");
    auto fleet_with = [](std::string_view rootfs_json) {
        return with_web(R"("command": "x", "rootfs": )" + std::string(rootfs_json));
    };

    SECTION("relative paths are resolved against base_dir") {
        const FleetSpec fleet = parse_fleet(fleet_with(R"("images/alpine")"), tmp.path(), "t");
        const auto& web = only_container(fleet);
        CHECK(web.rootfs == rootfs);
        CHECK(web.image.empty());
    }
    SECTION("absolute paths are kept, lexically normalised") {
        const std::string text =
            fleet_with("\"" + tmp.path().string() + "//images/./x/../alpine/\"");
        CHECK(only_container(parse_fleet(text, "/elsewhere", "t")).rootfs == rootfs);
    }
    SECTION("missing") {
        const Failure failure = [&] {
            try {
                parse_fleet(fleet_with(R"("nope")"), tmp.path(), "t");
            } catch (const ConfigError& error) {
                return Failure{error.pointer(), error.problem()};
            }
            return Failure{};
        }();
        CHECK(failure.pointer == "/containers/web/rootfs");
        CHECK(failure.problem ==
              "\"" + (tmp.path() / "nope").string() + "\": No such file or directory");
    }
    SECTION("not a directory") {
        try {
            parse_fleet(fleet_with(R"("file")"), tmp.path(), "t");
            FAIL("no error");
        } catch (const ConfigError& error) {
            CHECK(error.pointer() == "/containers/web/rootfs");
            CHECK(error.problem() == "\"" + (tmp.path() / "file").string() + "\": not a directory");
        }
    }
    SECTION("empty and wrong type") {
        CHECK_FAILS(fleet_with(R"("")"), "/containers/web/rootfs", "empty path");
        CHECK_FAILS(fleet_with("true"), "/containers/web/rootfs", "expected a string");
    }
}

TEST_CASE("exactly one of image and rootfs", "[config]") {
    CHECK_FAILS(with_web(R"("command": "x")"), "/containers/web", "needs \"image\" or \"rootfs\"");
    CHECK_FAILS(with_web(R"("image": "busybox", "rootfs": "/", "command": "x")"),
                "/containers/web/rootfs", "both \"image\" and \"rootfs\" given; use only one");
    // Reported before checking either value.
    CHECK_FAILS(with_web(R"("rootfs": "/nonexistent", "image": "nginx")"), "/containers/web/rootfs",
                "both \"image\" and \"rootfs\" given; use only one");
}

TEST_CASE("command and entrypoint", "[config]") {
    auto argv_of = [](std::string_view fields) {
        return only_container(parse(with_web(R"("image": "busybox", )" + std::string(fields))))
            .argv;
    };
    SECTION("array") {
        CHECK(argv_of(R"("command": ["sh", "-c", "echo $HOME"])") ==
              Strings{"sh", "-c", "echo $HOME"});
    }
    SECTION("string split like a shell, without expansion") {
        CHECK(argv_of(R"("command": "sh -c 'echo \"$HOME\" done'")") ==
              Strings{"sh", "-c", "echo \"$HOME\" done"});
    }
    SECTION("entrypoint then command") {
        CHECK(argv_of(R"("command": ["a", "b"], "entrypoint": "/bin/run --flag")") ==
              Strings{"/bin/run", "--flag", "a", "b"});
        CHECK(argv_of(R"("entrypoint": ["/bin/init"])") == Strings{"/bin/init"});
        CHECK(argv_of(R"("entrypoint": [], "command": "x")") == Strings{"x"});
    }
    SECTION("neither") {
        CHECK_FAILS(with_web(R"("image": "busybox")"), "/containers/web/command",
                    "missing; give \"command\" (and/or \"entrypoint\")");
    }
    SECTION("empty") {
        CHECK_FAILS(with_web(R"("image": "busybox", "command": [])"), "/containers/web/command",
                    "empty command");
        CHECK_FAILS(with_web(R"("image": "busybox", "command": "")"), "/containers/web/command",
                    "empty command");
        CHECK_FAILS(with_web(R"("image": "busybox", "command": " \t\n")"),
                    "/containers/web/command", "empty command");
        CHECK_FAILS(with_web(R"("image": "busybox", "command": [], "entrypoint": "")"),
                    "/containers/web/command", "empty command");
        CHECK_FAILS(with_web(R"("image": "busybox", "entrypoint": [])"),
                    "/containers/web/entrypoint", "empty entrypoint and no \"command\"");
    }
    SECTION("empty program name") {
        CHECK_FAILS(with_web(R"("image": "busybox", "command": ["", "x"])"),
                    "/containers/web/command", "the program to run (the first word) is empty");
        CHECK_FAILS(with_web(R"("image": "busybox", "entrypoint": "'' x", "command": "y")"),
                    "/containers/web/entrypoint", "the program to run (the first word) is empty");
    }
    SECTION("wrong types") {
        CHECK_FAILS(with_web(R"("image": "busybox", "command": ["sh", 1])"),
                    "/containers/web/command/1", "expected a string");
        CHECK_FAILS(with_web(R"("image": "busybox", "entrypoint": [null])"),
                    "/containers/web/entrypoint/0", "expected a string");
        CHECK_FAILS(with_web(R"("image": "busybox", "command": {"a": 1})"),
                    "/containers/web/command", "expected a string or an array of strings");
    }
    SECTION("NUL characters") {
        CHECK_FAILS(with_web(R"("image": "busybox", "command": ["a\u0000b"])"),
                    "/containers/web/command/0", "contains a NUL character");
    }
}

TEST_CASE("command strings are split like shell words", "[config]") {
    auto split = [](const std::string& command) {
        const std::string command_json = nlohmann::json(command).dump();
        return only_container(parse(with_web(R"("image": "busybox", "command": )" + command_json)))
            .argv;
    };
    CHECK(split("a  b\tc\nd") == Strings{"a", "b", "c", "d"});
    CHECK(split("  lead trail  ") == Strings{"lead", "trail"});
    CHECK(split("'a b' \"c d\"") == Strings{"a b", "c d"});
    CHECK(split("x'a b'y\"c\"z") == Strings{"xa bycz"});
    CHECK(split("a '' \"\" b") == Strings{"a", "", "", "b"});
    CHECK(split("a\\ b c") == Strings{"a b", "c"});
    CHECK(split("\\'quoted\\'") == Strings{"'quoted'"});
    CHECK(split("'no \\escape'") == Strings{"no \\escape"});
    CHECK(split("\"\\\" \\\\ \\$ \\` \\n\"") == Strings{"\" \\ $ ` \\n"});
    CHECK(split("echo $HOME `id` *") == Strings{"echo", "$HOME", "`id`", "*"});
    CHECK(split("a \\\n b") == Strings{"a", "b"});
    CHECK(split("\"it's\"") == Strings{"it's"});

    auto split_error = [](std::string_view command_json) {
        return failure_of(
            with_web(R"("image": "busybox", "command": )" + std::string(command_json)));
    };
    CHECK(split_error(R"("echo 'oops")").problem == "unterminated single quote");
    CHECK(split_error(R"("echo \"oops")").problem == "unterminated double quote");
    CHECK(split_error(R"("echo oops\\")").problem == "ends with an unescaped backslash");
    CHECK(split_error(R"("echo oops\\")").pointer == "/containers/web/command");
}

TEST_CASE("environment", "[config]") {
    ScopedEnv set_var("RUSTY_TEST_SET", "from-supervisor");
    ScopedEnv unset_var("RUSTY_TEST_UNSET", nullptr);
    auto env_of = [](std::string_view environment_json) {
        return only_container(parse(web_plus(R"("environment": )" + std::string(environment_json))))
            .env;
    };

    SECTION("object form") {
        CHECK(env_of(R"({"S": "text", "I": 42, "N": -3, "F": 1.5, "T": true, "B": false,
                         "E": "", "EQ": "a=b",
                         "RUSTY_TEST_SET": null, "RUSTY_TEST_UNSET": null})") ==
              Strings{"S=text", "I=42", "N=-3", "F=1.5", "T=true", "B=false", "E=", "EQ=a=b",
                      "RUSTY_TEST_SET=from-supervisor"});
    }
    SECTION("array form") {
        CHECK(env_of(R"(["A=1", "B=", "C=x=y", "RUSTY_TEST_SET", "RUSTY_TEST_UNSET"])") ==
              Strings{"A=1", "B=", "C=x=y", "RUSTY_TEST_SET=from-supervisor"});
    }
    SECTION("later duplicates replace, keeping the first position") {
        CHECK(env_of(R"(["A=1", "B=2", "A=3"])") == Strings{"A=3", "B=2"});
    }
    SECTION("empty") {
        CHECK(env_of("{}").empty());
        CHECK(env_of("[]").empty());
    }
    SECTION("bad keys") {
        CHECK_FAILS(web_plus(R"("environment": {"": "x"})"), "/containers/web/environment/",
                    "empty variable name");
        CHECK_FAILS(web_plus(R"("environment": {"A=B": "x"})"), "/containers/web/environment/A=B",
                    "variable name \"A=B\" contains '='");
        CHECK_FAILS(web_plus(R"("environment": ["A=1", "=x"])"), "/containers/web/environment/1",
                    "empty variable name");
    }
    SECTION("wrong types") {
        CHECK_FAILS(web_plus(R"("environment": "A=1")"), "/containers/web/environment",
                    "expected an object or an array");
        CHECK_FAILS(web_plus(R"("environment": ["A=1", 2])"), "/containers/web/environment/1",
                    "expected a string");
        CHECK_FAILS(web_plus(R"("environment": {"A": [1]})"), "/containers/web/environment/A",
                    "expected a string, a number, a boolean or null");
        CHECK_FAILS(web_plus(R"("environment": {"a/b": {}})"), "/containers/web/environment/a~1b",
                    "expected a string, a number, a boolean or null");
    }
}

TEST_CASE("working_dir", "[config]") {
    CHECK(only_container(parse(web_plus(R"("working_dir": "/app/src")"))).working_dir ==
          "/app/src");
    CHECK_FAILS(web_plus(R"("working_dir": "app")"), "/containers/web/working_dir",
                "must be an absolute path, not \"app\"");
    CHECK_FAILS(web_plus(R"("working_dir": "")"), "/containers/web/working_dir",
                "must be an absolute path, not \"\"");
    CHECK_FAILS(web_plus(R"("working_dir": 1)"), "/containers/web/working_dir",
                "expected a string");
}

TEST_CASE("user", "[config]") {
    auto user_of = [](std::string_view user_json) {
        return only_container(parse(web_plus(R"("user": )" + std::string(user_json)))).user;
    };
    const std::string expected =
        "; expected uid, uid:gid, name or name:group (IDs below 4294967295)";

    SECTION("valid forms are kept as written") {
        CHECK(user_of(R"("0")") == "0");
        CHECK(user_of(R"("1000:100")") == "1000:100");
        CHECK(user_of(R"("www-data")") == "www-data");
        CHECK(user_of(R"("_svc:staff.x")") == "_svc:staff.x");
        CHECK(user_of(R"("nobody:65534")") == "nobody:65534");
        CHECK(user_of(R"("4294967294")") == "4294967294");
    }
    SECTION("integers become decimal text") {
        CHECK(user_of("1000") == "1000");
        CHECK(user_of("0") == "0");
    }
    SECTION("invalid") {
        for (const char* user : {"", "Root", "1000:", ":100", "a:b:c", "1x", "4294967295",
                                 "99999999999999999999", "-1", "a b"}) {
            INFO(user);
            const std::string text = user;
            CHECK_FAILS(web_plus(R"("user": ")" + text + "\""), "/containers/web/user",
                        "invalid user \"" + text + "\"" + expected);
        }
        CHECK_FAILS(web_plus(R"("user": -1)"), "/containers/web/user",
                    "invalid user -1" + expected);
        CHECK_FAILS(web_plus(R"("user": 4294967295)"), "/containers/web/user",
                    "invalid user 4294967295" + expected);
    }
    SECTION("wrong types") {
        CHECK_FAILS(web_plus(R"("user": 1.5)"), "/containers/web/user",
                    "expected a string or an integer");
        CHECK_FAILS(web_plus(R"("user": null)"), "/containers/web/user",
                    "expected a string or an integer");
    }
}

TEST_CASE("hostname", "[config]") {
    SECTION("defaults to the name with '_' made '-'") {
        const FleetSpec fleet =
            parse(R"({"containers": {"my_web.A": {"image": "busybox", "command": "x"}}})");
        CHECK(only_container(fleet).hostname == "my-web.A");
    }
    SECTION("explicit") {
        CHECK(only_container(parse(web_plus(R"("hostname": "Box-1.lan")"))).hostname ==
              "Box-1.lan");
        const std::string longest(63, 'h');
        CHECK(only_container(parse(web_plus(R"("hostname": ")" + longest + "\""))).hostname ==
              longest);
    }
    SECTION("invalid") {
        const std::string rule = ": use 1 to 63 letters, digits, '-' and '.'";
        CHECK_FAILS(web_plus(R"("hostname": "a_b")"), "/containers/web/hostname",
                    "invalid hostname \"a_b\"" + rule);
        CHECK_FAILS(web_plus(R"("hostname": "")"), "/containers/web/hostname",
                    "invalid hostname \"\"" + rule);
        const std::string too_long(64, 'h');
        CHECK_FAILS(web_plus(R"("hostname": ")" + too_long + "\""), "/containers/web/hostname",
                    "invalid hostname \"" + too_long + "\"" + rule);
        CHECK_FAILS(web_plus(R"("hostname": 1)"), "/containers/web/hostname", "expected a string");
    }
}

TEST_CASE("network and network_mode", "[config]") {
    auto network_of = [](std::string_view field) {
        return only_container(parse(web_plus(field))).network;
    };
    CHECK(network_of(R"("network": "none")") == NetworkMode::None);
    CHECK(network_of(R"("network": "host")") == NetworkMode::Host);
    CHECK(network_of(R"("network_mode": "host")") == NetworkMode::Host);
    CHECK_FAILS(web_plus(R"("network": "bridge")"), "/containers/web/network",
                "unknown network \"bridge\"; allowed values: \"none\", \"host\"");
    CHECK_FAILS(web_plus(R"("network_mode": "service:db")"), "/containers/web/network_mode",
                "unknown network \"service:db\"; allowed values: \"none\", \"host\"");
    CHECK_FAILS(web_plus(R"("network": "host", "network_mode": "host")"),
                "/containers/web/network_mode",
                "\"network_mode\" is an alias of \"network\"; give only one");
    CHECK_FAILS(web_plus(R"("network": false)"), "/containers/web/network", "expected a string");
}

TEST_CASE("read_only", "[config]") {
    CHECK(only_container(parse(web_plus(R"("read_only": true)"))).read_only);
    CHECK_FALSE(only_container(parse(web_plus(R"("read_only": false)"))).read_only);
    CHECK_FAILS(web_plus(R"("read_only": "yes")"), "/containers/web/read_only",
                "expected a boolean");
    CHECK_FAILS(web_plus(R"("read_only": 1)"), "/containers/web/read_only", "expected a boolean");
}

// ---- load_fleet -------------------------------------------------------------------

TEST_CASE("load_fleet reads the file relative to its directory", "[config]") {
    TempDir tmp;
    const fs::path rootfs = tmp.make_dir("deploy/rootfs");
    const fs::path file =
        tmp.write("deploy/Web Fleet.json",
                  R"({"containers": {"web": {"rootfs": "rootfs", "command": "/bin/sh"}}})");

    SECTION("absolute path") {
        const FleetSpec fleet = rusty::load_fleet(file);
        CHECK(fleet.name == "web-fleet");
        CHECK(only_container(fleet).rootfs == rootfs);
    }
    SECTION("relative path") {
        const fs::path old_cwd = fs::current_path();
        fs::current_path(tmp.path());
        FleetSpec fleet;
        try {
            fleet = rusty::load_fleet("deploy/../deploy/Web Fleet.json");
        } catch (...) {
            fs::current_path(old_cwd);
            throw;
        }
        fs::current_path(old_cwd);
        CHECK(only_container(fleet).rootfs == rootfs);
    }
    SECTION("name in the file wins over the stem") {
        const fs::path named = tmp.write(
            "deploy/other.json",
            R"({"name": "prod", "containers": {"web": {"image": "busybox", "command": "x"}}})");
        CHECK(rusty::load_fleet(named).name == "prod");
        CHECK(rusty::load_fleet(
                  tmp.write("deploy/fleet.json",
                            R"({"services": {"w": {"image": "busybox", "command": "x"}}})"))
                  .name == "fleet");
    }
    SECTION("missing file") {
        const fs::path missing = tmp.path() / "nope.json";
        try {
            rusty::load_fleet(missing);
            FAIL("no error");
        } catch (const ConfigError& error) {
            CHECK(error.pointer().empty());
            CHECK(error.problem() ==
                  "cannot read \"" + missing.string() + "\": No such file or directory");
        }
    }
    SECTION("a directory") {
        try {
            rusty::load_fleet(tmp.path());
            FAIL("no error");
        } catch (const ConfigError& error) {
            CHECK(error.problem() == "cannot read \"" + tmp.path().string() + "\": Is a directory");
        }
    }
    SECTION("errors inside the file keep their pointer") {
        const fs::path bad =
            tmp.write("bad.json", R"({"containers": {"web": {"image": "nginx"}}})");
        try {
            rusty::load_fleet(bad);
            FAIL("no error");
        } catch (const ConfigError& error) {
            CHECK(error.pointer() == "/containers/web/image");
        }
    }
}

// ---- suggestions -----------------------------------------------------------------

TEST_CASE("edit distance and closest match", "[config]") {
    CHECK(rusty::edit_distance("", "") == 0);
    CHECK(rusty::edit_distance("abc", "") == 3);
    CHECK(rusty::edit_distance("comand", "command") == 1);
    CHECK(rusty::edit_distance("imgae", "image") == 1);  // a swap counts once
    CHECK(rusty::edit_distance("kitten", "sitting") == 3);

    const std::vector<std::string_view> fields = {"image", "command", "user", "network"};
    CHECK(rusty::closest_match("comand", fields) == std::optional<std::string_view>("command"));
    CHECK(rusty::closest_match("usr", fields) == std::optional<std::string_view>("user"));
    CHECK(rusty::closest_match("networks", fields) == std::optional<std::string_view>("network"));
    CHECK_FALSE(rusty::closest_match("ports", fields));
    CHECK_FALSE(rusty::closest_match("ab", fields));
}

// ---- schema/fleet.schema.json --------------------------------------------------

TEST_CASE("the JSON schema names exactly the fields the parser knows", "[config]") {
    std::ifstream file(fs::path(RUSTY_SOURCE_DIR) / "schema/fleet.schema.json");
    REQUIRE(file);
    const nlohmann::json schema = nlohmann::json::parse(file);
    CHECK(schema.at("$schema") == "https://json-schema.org/draft/2020-12/schema");

    // Every documented field is accepted: whatever is wrong, it is not
    // "unknown field".
    for (const auto& [key, property] : schema.at("properties").items()) {
        INFO(key);
        CHECK(property.contains("description"));
        CHECK(failure_of(R"({")" + key + R"(": 12})").problem != "unknown field");
    }
    const nlohmann::json& container = schema.at("$defs").at("container");
    std::vector<std::string> container_fields;
    for (const auto& [key, property] : container.at("properties").items()) {
        INFO(key);
        CHECK(property.contains("description"));
        CHECK_THAT(failure_of(with_web(R"(")" + key + R"(": 12)")).problem,
                   !Catch::StartsWith("unknown field"));
        container_fields.push_back(key);
    }
    // Near misses are still rejected (the parser does not match prefixes).
    for (const std::string& key : container_fields) {
        INFO(key);
        CHECK_THAT(failure_of(web_plus(R"(")" + key + R"(_x": 12)")).problem,
                   Catch::StartsWith("unknown field"));
    }
    // The parser accepts 11 container fields; the schema must list them all.
    CHECK(container_fields.size() == 11);
}
