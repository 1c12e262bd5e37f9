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
#include "tests/core/config_helpers.hpp"
#include "core/error.hpp"
#include "core/suggest.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using rusty::ConfigError;
using rusty::FleetSpec;
using rusty::NetworkMode;
using rusty::parse_fleet;
using rusty::test::TempDir;
using rusty::test::Failure;
using rusty::test::failure_of;
using rusty::test::parse;
using rusty::test::web_plus;
using rusty::test::with_web;
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
    // The parser accepts 28 container fields; the schema must list them all.
    CHECK(container_fields.size() == 35);
}

// ---- resource limits -------------------------------------------------------------

namespace {

constexpr std::int64_t MiB = 1024 * 1024;

// The limits of "web" given `extra` fields beside a valid image and command.
rusty::Resources web_resources(std::string_view extra) {
    return only_container(parse(web_plus(extra))).resources;
}

}  // namespace

TEST_CASE("no limits by default", "[config]") {
    const FleetSpec fleet = parse(R"({"containers": {"web": {"image": "busybox", "command": ["true"]}}})");
    const auto& web = only_container(fleet);
    CHECK_FALSE(web.resources.any());
    CHECK(web.pid == rusty::PidMode::Private);
    CHECK(fleet.cgroup_parent == "/rusty-supervisor");
    CHECK_FALSE(fleet.best_effort_limits);
}

TEST_CASE("every limit field is read", "[config]") {
    const FleetSpec fleet = parse(web_plus(R"("mem_limit": "64m", "memswap_limit": "128m",
        "mem_reservation": "32m", "cpus": 0.5, "cpu_shares": 512, "cpuset": "0-1", "pids_limit": 100,
        "pid": "host")"));
    const auto& web = only_container(fleet);
    const rusty::Resources& r = web.resources;
    CHECK(r.any());
    CHECK(r.memory == std::optional<std::int64_t>(64 * MiB));
    CHECK(r.memory_swap == std::optional<std::int64_t>(128 * MiB));
    CHECK(r.memory_reservation == std::optional<std::int64_t>(32 * MiB));
    CHECK(r.cpus == std::optional<double>(0.5));
    CHECK(r.cpu_shares == std::optional<std::uint64_t>(512));
    CHECK(r.cpuset == "0-1");
    CHECK(r.pids == std::optional<std::int64_t>(100));
    CHECK(web.pid == rusty::PidMode::Host);
}

TEST_CASE("sizes are strings with units or integers of bytes", "[config]") {
    CHECK(web_resources(R"("mem_limit": "64m")").memory == std::optional<std::int64_t>(64 * MiB));
    CHECK(web_resources(R"("mem_limit": "1.5g")").memory == std::optional<std::int64_t>(1536 * MiB));
    CHECK(web_resources(R"("mem_limit": 67108864)").memory == std::optional<std::int64_t>(64 * MiB));
    CHECK(web_resources(R"("mem_limit": "67108864")").memory == std::optional<std::int64_t>(64 * MiB));
    // The smallest memory limit allowed.
    CHECK(web_resources(R"("mem_limit": "6m")").memory == std::optional<std::int64_t>(6 * MiB));
    CHECK(web_resources(R"("mem_reservation": 1024)").memory_reservation == std::optional<std::int64_t>(1024));
    CHECK(web_resources(R"("mem_limit": 8388608, "memswap_limit": 16777216)").memory_swap ==
          std::optional<std::int64_t>(16 * MiB));
}

TEST_CASE("memswap_limit -1 is unlimited swap; equal to mem_limit is no swap", "[config]") {
    CHECK(web_resources(R"("mem_limit": "64m", "memswap_limit": -1)").memory_swap == std::optional<std::int64_t>(-1));
    CHECK(web_resources(R"("mem_limit": "64m", "memswap_limit": "64m")").memory_swap ==
          std::optional<std::int64_t>(64 * MiB));
    // The order of the fields does not matter.
    CHECK(web_resources(R"("memswap_limit": "1g", "mem_limit": "64m")").memory_swap ==
          std::optional<std::int64_t>(1024 * MiB));
}

TEST_CASE("cpus is a number or a numeric string", "[config]") {
    CHECK(web_resources(R"("cpus": 0.5)").cpus == std::optional<double>(0.5));
    CHECK(web_resources(R"("cpus": "1.5")").cpus == std::optional<double>(1.5));
    CHECK(web_resources(R"("cpus": 2)").cpus == std::optional<double>(2.0));
    CHECK(web_resources(R"("cpus": 0.01)").cpus == std::optional<double>(0.01));
}

TEST_CASE("cpu_shares bounds are 2 and 262144", "[config]") {
    CHECK(web_resources(R"("cpu_shares": 2)").cpu_shares == std::optional<std::uint64_t>(2));
    CHECK(web_resources(R"("cpu_shares": 262144)").cpu_shares == std::optional<std::uint64_t>(262144));
}

TEST_CASE("cpuset is kept as written", "[config]") {
    CHECK(web_resources(R"("cpuset": "0")").cpuset == "0");
    CHECK(web_resources(R"("cpuset": "0-3,6")").cpuset == "0-3,6");
}

TEST_CASE("pids_limit -1 and 0 mean no limit", "[config]") {
    CHECK(web_resources(R"("pids_limit": 1)").pids == std::optional<std::int64_t>(1));
    CHECK_FALSE(web_resources(R"("pids_limit": -1)").pids);
    CHECK_FALSE(web_resources(R"("pids_limit": 0)").pids);
    CHECK_FALSE(web_resources(R"("pids_limit": 0)").any());
}

TEST_CASE("pid", "[config]") {
    CHECK(only_container(parse(web_plus(R"("pid": "private")"))).pid == rusty::PidMode::Private);
    CHECK(only_container(parse(web_plus(R"("pid": "host")"))).pid == rusty::PidMode::Host);
    CHECK_FAILS(web_plus(R"("pid": "container")"), "/containers/web/pid",
                "unknown pid mode \"container\"; allowed values: \"private\", \"host\"");
    CHECK_FAILS(web_plus(R"("pid": true)"), "/containers/web/pid", "expected a string");
}

TEST_CASE("mem_limit errors", "[config]") {
    const std::string expected = "; expected bytes or a size such as \"64m\" or \"1.5g\"";
    SECTION("not a size") {
        CHECK_FAILS(web_plus(R"("mem_limit": "lots")"), "/containers/web/mem_limit",
                    "invalid size \"lots\"" + expected);
        CHECK_FAILS(web_plus(R"("mem_limit": "64x")"), "/containers/web/mem_limit",
                    "invalid size \"64x\"" + expected);
    }
    SECTION("below 6 MiB") {
        CHECK_FAILS(web_plus(R"("mem_limit": 1024)"), "/containers/web/mem_limit",
                    "a memory limit below 6 MiB leaves too little to start a container");
        CHECK(failure_of(web_plus(R"("mem_limit": "5m")")).pointer == "/containers/web/mem_limit");
        CHECK(failure_of(web_plus(R"("mem_limit": 0)")).pointer == "/containers/web/mem_limit");
    }
    SECTION("negative, fractional, too large, wrong type") {
        CHECK_FAILS(web_plus(R"("mem_limit": -1)"), "/containers/web/mem_limit", "invalid size -1" + expected);
        CHECK(failure_of(web_plus(R"("mem_limit": 67108864.5)")).pointer == "/containers/web/mem_limit");
        CHECK_FAILS(web_plus(R"("mem_limit": 18446744073709551615)"), "/containers/web/mem_limit", "too large");
        CHECK_FAILS(web_plus(R"("mem_limit": true)"), "/containers/web/mem_limit",
                    "expected a string or an integer");
    }
    SECTION("services in the pointer") {
        CHECK(failure_of(R"({"services": {"web": {"image": "busybox", "command": "x", "mem_limit": "lots"}}})")
                  .pointer == "/services/web/mem_limit");
    }
}

TEST_CASE("memswap_limit errors", "[config]") {
    SECTION("below mem_limit") {
        CHECK_FAILS(web_plus(R"("mem_limit": "64m", "memswap_limit": "32m")"), "/containers/web/memswap_limit",
                    "is memory plus swap, so it cannot be below \"mem_limit\"");
    }
    SECTION("without mem_limit") {
        CHECK_FAILS(web_plus(R"("memswap_limit": "1g")"), "/containers/web/memswap_limit",
                    "needs \"mem_limit\" (it counts memory plus swap)");
    }
    SECTION("-1 (unlimited swap) and 0 (not set) need no mem_limit, as in Compose") {
        CHECK(parse(web_plus(R"("memswap_limit": -1)")).containers[0].resources.memory_swap == -1);
        CHECK_FALSE(parse(web_plus(R"("memswap_limit": 0)")).containers[0].resources.memory_swap);
    }
    SECTION("not a size") {
        CHECK(failure_of(web_plus(R"("mem_limit": "64m", "memswap_limit": "lots")")).pointer ==
              "/containers/web/memswap_limit");
        CHECK(failure_of(web_plus(R"("mem_limit": "64m", "memswap_limit": -2)")).pointer ==
              "/containers/web/memswap_limit");
        CHECK(failure_of(web_plus(R"("mem_limit": "64m", "memswap_limit": "-1")")).pointer ==
              "/containers/web/memswap_limit");
    }
}

TEST_CASE("mem_reservation errors", "[config]") {
    CHECK_FAILS(web_plus(R"("mem_limit": "64m", "mem_reservation": "65m")"), "/containers/web/mem_reservation",
                "is above \"mem_limit\"");
    CHECK(failure_of(web_plus(R"("mem_reservation": "x")")).pointer == "/containers/web/mem_reservation");
    // Equal is fine, and so is a reservation without a limit.
    CHECK(web_resources(R"("mem_limit": "64m", "mem_reservation": "64m")").memory_reservation ==
          std::optional<std::int64_t>(64 * MiB));
    CHECK(web_resources(R"("mem_reservation": "1g")").memory_reservation == std::optional<std::int64_t>(1024 * MiB));
}

TEST_CASE("cpus errors", "[config]") {
    const std::string range = "must be between 0.01 and the number of CPUs";
    CHECK_FAILS(web_plus(R"("cpus": 0)"), "/containers/web/cpus", range);
    CHECK_FAILS(web_plus(R"("cpus": -1)"), "/containers/web/cpus", range);
    CHECK_FAILS(web_plus(R"("cpus": 0.001)"), "/containers/web/cpus", range);
    CHECK_FAILS(web_plus(R"("cpus": "0")"), "/containers/web/cpus", range);
    CHECK_FAILS(web_plus(R"("cpus": "nan")"), "/containers/web/cpus", range);
    CHECK_FAILS(web_plus(R"("cpus": "x")"), "/containers/web/cpus", "invalid number of CPUs \"x\"");
    CHECK_FAILS(web_plus(R"("cpus": "1.5x")"), "/containers/web/cpus", "invalid number of CPUs \"1.5x\"");
    CHECK_FAILS(web_plus(R"("cpus": "")"), "/containers/web/cpus", "invalid number of CPUs \"\"");
    CHECK_FAILS(web_plus(R"("cpus": true)"), "/containers/web/cpus", "expected a number");
}

TEST_CASE("cpu_shares errors", "[config]") {
    const std::string range = "must be between 2 and 262144 (1024 is the default weight)";
    CHECK_FAILS(web_plus(R"("cpu_shares": 1)"), "/containers/web/cpu_shares", range);
    CHECK_FAILS(web_plus(R"("cpu_shares": 300000)"), "/containers/web/cpu_shares", range);
    CHECK_FAILS(web_plus(R"("cpu_shares": -5)"), "/containers/web/cpu_shares", range);
    CHECK_FAILS(web_plus(R"("cpu_shares": 18446744073709551615)"), "/containers/web/cpu_shares", range);
    CHECK_FAILS(web_plus(R"("cpu_shares": "x")"), "/containers/web/cpu_shares", "expected an integer");
    CHECK_FAILS(web_plus(R"("cpu_shares": 512.5)"), "/containers/web/cpu_shares", "expected an integer");
}

TEST_CASE("cpuset errors", "[config]") {
    CHECK_FAILS(web_plus(R"("cpuset": "3-1")"), "/containers/web/cpuset",
                "invalid CPU list \"3-1\"; expected e.g. \"0-2,4\"");
    CHECK_FAILS(web_plus(R"("cpuset": "")"), "/containers/web/cpuset",
                "invalid CPU list \"\"; expected e.g. \"0-2,4\"");
    CHECK_FAILS(web_plus(R"("cpuset": 1)"), "/containers/web/cpuset", "expected a string");
}

TEST_CASE("pids_limit errors", "[config]") {
    CHECK_FAILS(web_plus(R"("pids_limit": -2)"), "/containers/web/pids_limit",
                "must be positive, or -1 or 0 for no limit");
    CHECK_FAILS(web_plus(R"("pids_limit": "x")"), "/containers/web/pids_limit", "expected an integer");
    CHECK_FAILS(web_plus(R"("pids_limit": "100")"), "/containers/web/pids_limit", "expected an integer");
    // Above the kernel's PID_MAX_LIMIT, and a value that would wrap to -1.
    CHECK_FAILS(web_plus(R"("pids_limit": 4194305)"), "/containers/web/pids_limit", "must be at most 4194304");
    CHECK_FAILS(web_plus(R"("pids_limit": 18446744073709551615)"), "/containers/web/pids_limit",
                "must be at most 4194304");
    CHECK_FAILS(web_plus(R"("pids_limit": 1.5)"), "/containers/web/pids_limit", "expected an integer");
}

TEST_CASE("deploy is refused with the fields to use instead", "[config]") {
    const Failure failure = failure_of(web_plus(R"("deploy": {"resources": {"limits": {"memory": "64m"}}})"));
    CHECK(failure.pointer == "/containers/web/deploy");
    CHECK_THAT(failure.problem, Catch::StartsWith("not supported"));
    CHECK_THAT(failure.problem, Catch::Contains("mem_limit"));
    CHECK_THAT(failure.problem, Catch::Contains("pids_limit"));
}

TEST_CASE("limit fields from other tools get a did-you-mean", "[config]") {
    CHECK_FAILS(web_plus(R"("memory": "64m")"), "/containers/web/memory",
                "unknown field; did you mean \"mem_limit\"?");
    CHECK_FAILS(web_plus(R"("pids": 10)"), "/containers/web/pids", "unknown field; did you mean \"pids_limit\"?");
    CHECK_FAILS(web_plus(R"("cpu_weight": 100)"), "/containers/web/cpu_weight",
                "unknown field; did you mean \"cpu_shares\"?");
    CHECK_FAILS(web_plus(R"("mem_limt": "64m")"), "/containers/web/mem_limt",
                "unknown field; did you mean \"mem_limit\"?");
}

TEST_CASE("cgroup_parent", "[config]") {
    const std::string body = R"("containers": {"w": {"image": "busybox", "command": "x"}})";
    auto parent_of = [&](std::string_view value) {
        return parse("{\"cgroup_parent\": " + std::string(value) + ", " + body + "}").cgroup_parent;
    };
    SECTION("default") {
        CHECK(parse("{" + body + "}").cgroup_parent == "/rusty-supervisor");
    }
    SECTION("normalised") {
        CHECK(parent_of(R"("/a//b/")") == "/a/b");
        CHECK(parent_of(R"("/a/b")") == "/a/b");
        CHECK(parent_of(R"("/")") == "/");
        CHECK(parent_of(R"("//")") == "/");
        CHECK(parent_of(R"("/system.slice/rusty")") == "/system.slice/rusty");
    }
    SECTION("relative") {
        CHECK_FAILS(R"({"cgroup_parent": "relative"})", "/cgroup_parent",
                    "must be an absolute cgroup path such as \"/rusty-supervisor\"");
        CHECK_FAILS(R"({"cgroup_parent": ""})", "/cgroup_parent",
                    "must be an absolute cgroup path such as \"/rusty-supervisor\"");
    }
    SECTION("dot components") {
        CHECK_FAILS(R"({"cgroup_parent": "/a/../b"})", "/cgroup_parent",
                    "must not contain \".\" or \"..\": \"/a/../b\"");
        CHECK(failure_of(R"({"cgroup_parent": "/a/./b"})").pointer == "/cgroup_parent");
        CHECK(failure_of(R"({"cgroup_parent": "/.."})").pointer == "/cgroup_parent");
    }
    SECTION("interface file names") {
        CHECK_FAILS(R"({"cgroup_parent": "/cgroup.procs"})", "/cgroup_parent",
                    "invalid cgroup name \"cgroup.procs\": the name of a cgroup interface file");
        CHECK(failure_of(R"({"cgroup_parent": "/a/cgroup.subtree_control"})").pointer == "/cgroup_parent");
        CHECK(failure_of(R"({"cgroup_parent": "/memory.max"})").pointer == "/cgroup_parent");
        CHECK(failure_of(R"({"cgroup_parent": "/x/tasks"})").pointer == "/cgroup_parent");
        CHECK(parse(R"({"cgroup_parent": "/memory", "containers": {"w": {"image": "busybox", "command": "x"}}})")
                  .cgroup_parent == "/memory");
    }
    SECTION("too long a component") {
        CHECK(failure_of(R"({"cgroup_parent": "/)" + std::string(256, 'a') + R"("})").pointer == "/cgroup_parent");
        CHECK(parent_of("\"/" + std::string(255, 'a') + "\"") == "/" + std::string(255, 'a'));
    }
    SECTION("wrong type") {
        CHECK_FAILS(R"({"cgroup_parent": 1})", "/cgroup_parent", "expected a string");
    }
}

TEST_CASE("best_effort_limits", "[config]") {
    const std::string body = R"("containers": {"w": {"image": "busybox", "command": "x"}})";
    CHECK(parse(R"({"best_effort_limits": true, )" + body + "}").best_effort_limits);
    CHECK_FALSE(parse(R"({"best_effort_limits": false, )" + body + "}").best_effort_limits);
    CHECK_FAILS(R"({"best_effort_limits": "yes"})", "/best_effort_limits", "expected a boolean");
    CHECK_FAILS(R"({"best_effort_limits": 1})", "/best_effort_limits", "expected a boolean");
}

TEST_CASE("pool: size of the start pool, 2 unless given, 0 disables it", "[config]") {
    const std::string body = R"("containers": {"w": {"image": "busybox", "command": "x"}})";
    CHECK(parse("{" + body + "}").pool_size == 2);
    CHECK(parse(R"({"pool": {"size": 0}, )" + body + "}").pool_size == 0);
    CHECK(parse(R"({"pool": {"size": 8}, )" + body + "}").pool_size == 8);
    CHECK(parse(R"({"pool": {}, )" + body + "}").pool_size == 2);
    CHECK_FAILS(R"({"pool": 4})", "/pool", R"(expected an object such as {"size": 2})");
    for (const char* size : {"65", "-1", "\"2\"", "1.5"})
        CHECK_FAILS(std::string(R"({"pool": {"size": )") + size + "}}", "/pool/size", "must be a whole number from 0 to 64");
    CHECK_FAILS(R"({"pool": {"sise": 2}})", "/pool/sise", R"(unknown field "sise"; allowed: "size")");
}

TEST_CASE("limit errors come before a missing command", "[config]") {
    // Field errors are found in document order, before relations between fields.
    CHECK(failure_of(with_web(R"("image": "busybox", "cpus": 0)")).pointer == "/containers/web/cpus");
    CHECK(failure_of(with_web(R"("image": "busybox", "mem_limit": "64m", "memswap_limit": "1m")")).pointer ==
          "/containers/web/memswap_limit");
}

TEST_CASE("a container name is also a cgroup name: interface file names are refused", "[config]") {
    for (const char* name : {"tasks", "cgroup.procs", "cpu.max", "memory.events"}) {
        INFO(name);
        const std::string text = std::string(R"({"containers": {")") + name + R"(": {"image": "busybox", "command": "x"}}})";
        CHECK_FAILS(text, std::string("/containers/") + name,
                    std::string("the container name \"") + name + "\" is the name of a cgroup interface file");
    }
}

TEST_CASE("parse_cgroup_path is shared by fleet.json and the command line", "[config]") {
    CHECK(rusty::parse_cgroup_path("/a//b/", "--cgroup-parent") == "/a/b");
    CHECK(rusty::parse_cgroup_path("/", "--cgroup-parent") == "/");
    try {
        rusty::parse_cgroup_path("/.", "--cgroup-parent");
        FAIL("no error");
    } catch (const rusty::ConfigError& e) {
        CHECK(e.pointer() == "--cgroup-parent");
    }
}

TEST_CASE("replicas: N containers name-1 … name-N, and a dependency on them all", "[config]") {
    const FleetSpec fleet = parse(R"({"containers": {
        "web": {"image": "busybox", "command": "x", "replicas": 3, "pids_limit": 5},
        "lb": {"image": "busybox", "command": "x", "depends_on": ["web"]},
        "named": {"image": "busybox", "command": "x", "replicas": 2, "hostname": "same"}}})");
    REQUIRE(fleet.containers.size() == 6);
    CHECK(fleet.containers[0].name == "web-1");
    CHECK(fleet.containers[2].name == "web-3");
    CHECK(fleet.containers[2].hostname == "web-3");
    CHECK(fleet.containers[2].resources.pids == std::optional<std::int64_t>(5));
    const rusty::ContainerSpec& lb = fleet.containers[3];
    REQUIRE(lb.depends_on.size() == 3);
    CHECK(lb.depends_on[0].name == "web-1");
    CHECK(lb.depends_on[2].name == "web-3");
    CHECK(fleet.containers[4].hostname == "same");
    CHECK(fleet.containers[5].hostname == "same");
}

TEST_CASE("replicas errors", "[config]") {
    CHECK_FAILS(web_plus(R"("replicas": 0)"), "/containers/web/replicas", "must be from 1 to 1000");
    CHECK_FAILS(web_plus(R"("replicas": "2")"), "/containers/web/replicas", "expected an integer");
    CHECK_FAILS(R"({"containers": {"web": {"image": "busybox", "command": "x", "replicas": 2},
                                   "web-2": {"image": "busybox", "command": "x"}}})",
                "/containers/web/replicas", "the replica name \"web-2\" is another container's");
}
