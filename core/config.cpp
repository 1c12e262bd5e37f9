#include "core/config.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <functional>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/error.hpp"
#include "core/fd.hpp"
#include "core/file.hpp"
#include "core/oci_spec.hpp"
#include "core/strings.hpp"
#include "core/suggest.hpp"
#include "core/units.hpp"

namespace rusty {
namespace {

namespace fs = std::filesystem;

// Ordered, so that containers keep the file's order and errors come in
// document order.
using Json = nlohmann::ordered_json;

constexpr std::size_t max_name_length = 63;
// Sizes past which a file is refused rather than read: a seccomp profile
// (Docker's default is 20 KiB) and fleet.json (a thousand containers fit in
// a few MiB).
constexpr std::size_t kMaxSeccompProfile = std::size_t{1} << 20;
constexpr std::size_t kMaxFleetFile = std::size_t{64} << 20;

constexpr std::array<std::string_view, 7> top_level_fields = {
    "name", "containers", "services", "$schema", "cgroup_parent", "best_effort_limits", "pool"};
constexpr std::array<std::string_view, 35> container_fields = {
    "image",     "rootfs",        "command",         "entrypoint", "environment",
    "working_dir", "user",        "hostname",        "network",    "network_mode",
    "read_only", "pid",           "mem_limit",       "memswap_limit", "mem_reservation",
    "cpus",      "cpu_shares",    "cpuset",          "pids_limit", "restart",
    "restart_backoff", "stop_signal", "stop_grace_period", "depends_on", "replicas",
    "healthcheck", "on_unhealthy", "ready",      "tty",        "stdin_open",
    "logging",   "cap_add",       "cap_drop",        "privileged", "security_opt"};

// Names people reach for from other tools, too far from ours for the edit
// distance to catch.
struct Synonym {
    std::string_view written;
    std::string_view meant;
};
constexpr std::array<Synonym, 19> container_field_synonyms = {{
    {"log", "logging"},
    {"log_driver", "logging"},
    {"interactive", "stdin_open"},
    {"memory", "mem_limit"},
    {"mem", "mem_limit"},
    {"memory_limit", "mem_limit"},
    {"pids", "pids_limit"},
    {"cpu_quota", "cpus"},
    {"cpu_weight", "cpu_shares"},
    {"env", "environment"},
    {"cmd", "command"},
    {"args", "command"},
    {"workdir", "working_dir"},
    {"cwd", "working_dir"},
    {"net", "network"},
    {"readonly", "read_only"},
    {"seccomp", "security_opt"},
    {"no_new_privileges", "security_opt"},
    {"capabilities", "cap_add"},
}};

[[noreturn]] void fail(std::string pointer, std::string problem) {
    throw ConfigError(std::move(pointer), std::move(problem));
}

// RFC 6901: '~' and '/' inside a reference token become "~0" and "~1".
std::string escape_pointer_token(std::string_view token) {
    std::string escaped;
    escaped.reserve(token.size());
    for (char c : token) {
        if (c == '~')
            escaped += "~0";
        else if (c == '/')
            escaped += "~1";
        else
            escaped += c;
    }
    return escaped;
}

std::string child_pointer(const std::string& parent, std::string_view key) {
    return parent + "/" + escape_pointer_token(key);
}

std::string child_pointer(const std::string& parent, std::size_t index) {
    return parent + "/" + std::to_string(index);
}

// A user-supplied string for a message, in double quotes and JSON-escaped so
// that control characters and quotes cannot garble the message.
std::string json_quoted(std::string_view text) {
    return Json(std::string(text)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

std::string unknown_field(std::string_view key, std::span<const std::string_view> fields,
                          std::span<const Synonym> synonyms = {}) {
    std::optional<std::string_view> suggestion = closest_match(key, fields);
    for (const Synonym& synonym : synonyms) {
        if (synonym.written == key) suggestion = synonym.meant;
    }
    std::string problem = "unknown field";
    if (suggestion) problem += "; did you mean " + json_quoted(*suggestion) + "?";
    return problem;
}

bool is_ascii_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_ascii_lower(char c) {
    return c >= 'a' && c <= 'z';
}
bool is_ascii_alnum(char c) {
    return is_ascii_digit(c) || is_ascii_lower(c) || (c >= 'A' && c <= 'Z');
}

// ---- JSON text -------------------------------------------------------------

// "line L, column C" of the byte nlohmann reports (1-based, the last byte it
// read). Columns count characters, not bytes, as editors do.
std::string position_text(std::string_view text, std::size_t byte) {
    const std::size_t end = std::min(byte == 0 ? 0 : byte - 1, text.size());
    std::size_t line = 1;
    std::size_t column = 1;
    for (std::size_t i = 0; i < end; ++i) {
        if (text[i] == '\n') {
            ++line;
            column = 1;
        } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
            ++column;  // not a UTF-8 continuation byte
        }
    }
    return "line " + std::to_string(line) + ", column " + std::to_string(column);
}

// nlohmann's what() minus its "[json.exception.x.n] parse error at …: " prefix.
std::string nlohmann_reason(const nlohmann::json::exception& error) {
    std::string_view message = error.what();
    if (const std::size_t id_end = message.find("] "); id_end != std::string_view::npos)
        message.remove_prefix(id_end + 2);
    if (message.starts_with("parse error")) {
        if (const std::size_t colon = message.find(": "); colon != std::string_view::npos)
            message.remove_prefix(colon + 2);
    }
    return std::string(message);
}

// Tracks where the parser is, to name duplicated keys, which nlohmann would
// otherwise silently resolve by keeping the last.
class DuplicateKeyCheck {
public:
    bool operator()(int /*depth*/, Json::parse_event_t event, Json& parsed) {
        switch (event) {
        case Json::parse_event_t::object_start:
        case Json::parse_event_t::array_start:
            begin_element();
            stack_.push_back(Frame{event == Json::parse_event_t::array_start, {}, {}, 0});
            break;
        case Json::parse_event_t::object_end:
        case Json::parse_event_t::array_end:
            stack_.pop_back();
            break;
        case Json::parse_event_t::value:
            begin_element();
            break;
        case Json::parse_event_t::key: {
            Frame& object = stack_.back();
            object.key = parsed.get_ref<const std::string&>();
            if (!object.keys.insert(object.key).second) {
                if (in_container_map())
                    fail(pointer(), "duplicate container name " + json_quoted(object.key));
                fail(pointer(), "duplicate key");
            }
            break;
        }
        }
        return true;
    }

private:
    struct Frame {
        bool is_array;
        std::unordered_set<std::string> keys;  // object: the keys seen so far
        std::string key;                       // object: the member being parsed
        std::size_t elements;                  // array: elements begun so far
    };

    void begin_element() {
        if (!stack_.empty() && stack_.back().is_array) ++stack_.back().elements;
    }

    // Whether the innermost object is the top-level "containers"/"services".
    bool in_container_map() const {
        return stack_.size() == 2 && !stack_[0].is_array && !stack_[1].is_array &&
               (stack_[0].key == "containers" || stack_[0].key == "services");
    }

    std::string pointer() const {
        std::string result;
        for (const Frame& frame : stack_) {
            result = frame.is_array ? child_pointer(result, frame.elements - 1)
                                    : child_pointer(result, frame.key);
        }
        return result;
    }

    std::vector<Frame> stack_;
};

Json parse_json(std::string_view text) {
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos)
        fail("", "empty document; expected a JSON object");
    DuplicateKeyCheck duplicate_key_check;
    try {
        return Json::parse(
            text.begin(), text.end(),
            [&duplicate_key_check](int depth, Json::parse_event_t event, Json& parsed) {
                return duplicate_key_check(depth, event, parsed);
            });
    } catch (const nlohmann::json::parse_error& error) {
        fail("",
             "invalid JSON at " + position_text(text, error.byte) + ": " + nlohmann_reason(error));
    } catch (const nlohmann::json::exception& error) {
        // E.g. out_of_range for a number too large for a double: no position.
        fail("", "invalid JSON: " + nlohmann_reason(error));
    }
}

// ---- Typed fields ----------------------------------------------------------

const std::string& expect_string(const Json& value, const std::string& pointer) {
    if (!value.is_string()) fail(pointer, "expected a string");
    const std::string& text = value.get_ref<const std::string&>();
    // Everything ends up in C strings (paths, argv, environ): a NUL would
    // silently cut it short.
    if (text.find('\0') != std::string::npos) fail(pointer, "contains a NUL character");
    return text;
}

bool expect_bool(const Json& value, const std::string& pointer) {
    if (!value.is_boolean()) fail(pointer, "expected a boolean");
    return value.get<bool>();
}

// ---- Names -----------------------------------------------------------------

bool is_fleet_name_char(char c) {
    return is_ascii_digit(c) || is_ascii_lower(c) || c == '_' || c == '-';
}

bool is_valid_fleet_name(std::string_view name) {
    if (name.empty() || name.size() > max_name_length) return false;
    if (!is_ascii_digit(name[0]) && !is_ascii_lower(name[0])) return false;
    for (char c : name) {
        if (!is_fleet_name_char(c)) return false;
    }
    return true;
}

// A valid fleet name made from a file stem such as "My Fleet".
std::string fleet_name_from(std::string_view stem) {
    if (is_valid_fleet_name(stem)) return std::string(stem);
    std::string name;
    for (char c : stem) {
        // One '-' per UTF-8 character, not per byte.
        if ((static_cast<unsigned char>(c) & 0xC0) == 0x80) continue;
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        name += is_fleet_name_char(c) ? c : '-';
    }
    const std::size_t first = name.find_first_not_of("-_");
    name.erase(0, first == std::string::npos ? name.size() : first);
    if (name.size() > max_name_length) name.resize(max_name_length);
    if (name.empty()) name = "fleet";
    return name;
}

std::string parse_fleet_name(const Json& value, const std::string& pointer) {
    const std::string& name = expect_string(value, pointer);
    if (!is_valid_fleet_name(name))
        fail(pointer, "invalid fleet name " + json_quoted(name) +
                          ": use 1 to 63 lowercase letters, digits, '_' and '-', starting with "
                          "a letter or digit");
    return name;
}

void check_container_name(const std::string& name, const std::string& pointer) {
    bool valid = !name.empty() && name.size() <= max_name_length && is_ascii_alnum(name[0]);
    for (char c : name) {
        if (!is_ascii_alnum(c) && c != '_' && c != '.' && c != '-') valid = false;
    }
    if (!valid)
        fail(pointer, "invalid container name " + json_quoted(name) +
                          ": use 1 to 63 letters, digits, '_', '.' and '-', starting with a "
                          "letter or digit");
    // Each container's directory sits beside these in the fleet's state
    // directory (see lifecycle/fleet.cpp).
    if (name == "lock" || name == "supervisor.json" || name == "control.sock")
        fail(pointer, "the container name " + json_quoted(name) + " is reserved for the fleet's own state");
    // It names the container's cgroup too.
    if (is_interface_file_name(name))
        fail(pointer, "the container name " + json_quoted(name) + " is the name of a cgroup interface file");
}

// ---- Container fields ------------------------------------------------------

std::string parse_image(const Json& value, const std::string& pointer) {
    const std::string& image = expect_string(value, pointer);
    if (image == "busybox" || image == "busybox:latest") return "busybox";
    fail(pointer, "unknown image " + json_quoted(image) +
                      "; the built-in images are: busybox (use \"rootfs\" for your own root "
                      "filesystem)");
}

fs::path parse_rootfs(const Json& value, const std::string& pointer, const fs::path& base_dir) {
    const std::string& text = expect_string(value, pointer);
    if (text.empty()) fail(pointer, "empty path");
    fs::path path = base_dir / text;  // an absolute `text` replaces base_dir
    std::error_code ignored;
    if (fs::path absolute = fs::absolute(path, ignored); !absolute.empty()) path = absolute;
    path = path.lexically_normal();
    // "/a/b/" normalises to "/a/b/"; store the directory without the slash.
    if (!path.has_filename() && path.has_relative_path()) path = path.parent_path();

    struct stat info;
    if (::stat(path.c_str(), &info) != 0)
        fail(pointer, json_quoted(path.string()) + ": " + errno_text(errno));
    if (!S_ISDIR(info.st_mode)) fail(pointer, json_quoted(path.string()) + ": not a directory");
    return path;
}

// Splits like a POSIX shell splits words, without any expansion: blanks
// separate words; '…' is literal; "…" keeps \" \\ \$ \` and \<newline> as
// escapes; a backslash outside quotes escapes the next character.
std::vector<std::string> split_words(std::string_view text, const std::string& pointer) {
    std::vector<std::string> words;
    std::string word;
    bool in_word = false;  // tells the word "" apart from no word at all
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == ' ' || c == '\t' || c == '\n') {
            if (in_word) words.push_back(std::move(word));
            word.clear();
            in_word = false;
        } else if (c == '\\') {
            if (i + 1 == text.size()) fail(pointer, "ends with an unescaped backslash");
            const char next = text[++i];
            if (next == '\n') continue;  // a line continuation, removed
            word += next;
            in_word = true;
        } else if (c == '\'') {
            const std::size_t close = text.find('\'', i + 1);
            if (close == std::string_view::npos) fail(pointer, "unterminated single quote");
            word.append(text.substr(i + 1, close - i - 1));
            i = close;
            in_word = true;
        } else if (c == '"') {
            for (++i;; ++i) {
                if (i == text.size()) fail(pointer, "unterminated double quote");
                if (text[i] == '"') break;
                if (text[i] == '\\' && i + 1 < text.size() &&
                    std::string_view("\"\\$`\n").find(text[i + 1]) != std::string_view::npos) {
                    ++i;
                    if (text[i] != '\n') word += text[i];
                } else {
                    word += text[i];
                }
            }
            in_word = true;
        } else {
            word += c;
            in_word = true;
        }
    }
    if (in_word) words.push_back(std::move(word));
    return words;
}

// `command` and `entrypoint`: an array of strings, or one string split into
// words.
std::vector<std::string> parse_words(const Json& value, const std::string& pointer) {
    if (value.is_string()) return split_words(expect_string(value, pointer), pointer);
    if (!value.is_array()) fail(pointer, "expected a string or an array of strings");
    std::vector<std::string> words;
    for (std::size_t i = 0; i < value.size(); ++i)
        words.push_back(expect_string(value[i], child_pointer(pointer, i)));
    return words;
}

// Builds "KEY=VALUE" entries; a repeated key replaces the value but keeps the
// first position.
class EnvironmentBuilder {
public:
    void set(const std::string& key, const std::string& value) {
        std::string entry = key + "=" + value;
        if (auto found = index_of_key_.find(key); found != index_of_key_.end()) {
            entries_[found->second] = std::move(entry);
        } else {
            index_of_key_.emplace(key, entries_.size());
            entries_.push_back(std::move(entry));
        }
    }

    // Takes the value from the supervisor's own environment; nothing if unset.
    void inherit(const std::string& key) {
        if (const char* value = std::getenv(key.c_str())) set(key, value);
    }

    std::vector<std::string> take() { return std::move(entries_); }

private:
    std::vector<std::string> entries_;
    std::unordered_map<std::string, std::size_t> index_of_key_;
};

void check_variable_name(const std::string& key, const std::string& pointer) {
    if (key.empty()) fail(pointer, "empty variable name");
    if (key.find('=') != std::string::npos)
        fail(pointer, "variable name " + json_quoted(key) + " contains '='");
    if (key.find('\0') != std::string::npos)
        fail(pointer, "variable name contains a NUL character");
}

std::vector<std::string> parse_environment(const Json& value, const std::string& pointer) {
    EnvironmentBuilder environment;
    if (value.is_object()) {
        for (auto it = value.begin(); it != value.end(); ++it) {
            const std::string& key = it.key();
            const std::string item_pointer = child_pointer(pointer, key);
            check_variable_name(key, item_pointer);
            const Json& item = it.value();
            if (item.is_null())
                environment.inherit(key);
            else if (item.is_string())
                environment.set(key, expect_string(item, item_pointer));
            else if (item.is_boolean())
                environment.set(key, item.get<bool>() ? "true" : "false");
            else if (item.is_number())
                environment.set(key, item.dump());
            else
                fail(item_pointer, "expected a string, a number, a boolean or null");
        }
    } else if (value.is_array()) {
        for (std::size_t i = 0; i < value.size(); ++i) {
            const std::string item_pointer = child_pointer(pointer, i);
            const std::string& item = expect_string(value[i], item_pointer);
            const std::size_t equals = item.find('=');
            const std::string key = item.substr(0, equals);
            check_variable_name(key, item_pointer);
            if (equals == std::string::npos)
                environment.inherit(key);
            else
                environment.set(key, item.substr(equals + 1));
        }
    } else {
        fail(pointer, "expected an object or an array");
    }
    return environment.take();
}

std::string parse_working_dir(const Json& value, const std::string& pointer) {
    const std::string& dir = expect_string(value, pointer);
    if (!dir.starts_with('/')) fail(pointer, "must be an absolute path, not " + json_quoted(dir));
    return dir;
}

// A uid/gid in decimal, or a user/group name.
bool is_valid_user_part(std::string_view part) {
    if (part.empty()) return false;
    if (is_ascii_digit(part[0])) {
        // IDs are 32-bit, and (uid_t)-1 means "no change" to the kernel.
        std::uint64_t id = 0;
        for (char c : part) {
            if (!is_ascii_digit(c)) return false;
            id = id * 10 + static_cast<std::uint64_t>(c - '0');
            if (id >= 0xFFFFFFFFu) return false;
        }
        return true;
    }
    if (!is_ascii_lower(part[0]) && part[0] != '_') return false;
    for (char c : part) {
        if (!is_ascii_digit(c) && !is_ascii_lower(c) && c != '_' && c != '.' && c != '-')
            return false;
    }
    return true;
}

std::string parse_user(const Json& value, const std::string& pointer) {
    const std::string expected =
        "; expected uid, uid:gid, name or name:group (IDs below 4294967295)";
    if (value.is_number_unsigned()) {
        const auto id = value.get<std::uint64_t>();
        if (id >= 0xFFFFFFFFu) fail(pointer, "invalid user " + std::to_string(id) + expected);
        return std::to_string(id);
    }
    if (value.is_number_integer()) fail(pointer, "invalid user " + value.dump() + expected);
    if (!value.is_string()) fail(pointer, "expected a string or an integer");
    const std::string& user = expect_string(value, pointer);
    const std::size_t colon = user.find(':');
    const bool valid = colon == std::string::npos
                           ? is_valid_user_part(user)
                           : is_valid_user_part(std::string_view(user).substr(0, colon)) &&
                                 is_valid_user_part(std::string_view(user).substr(colon + 1));
    if (!valid) fail(pointer, "invalid user " + json_quoted(user) + expected);
    return user;
}

std::string parse_hostname(const Json& value, const std::string& pointer) {
    const std::string& hostname = expect_string(value, pointer);
    bool valid = !hostname.empty() && hostname.size() <= max_name_length;
    for (char c : hostname) {
        if (!is_ascii_alnum(c) && c != '-' && c != '.') valid = false;
    }
    if (!valid)
        fail(pointer, "invalid hostname " + json_quoted(hostname) +
                          ": use 1 to 63 letters, digits, '-' and '.'");
    return hostname;
}

NetworkMode parse_network(const Json& value, const std::string& pointer) {
    const std::string& network = expect_string(value, pointer);
    if (network == "none") return NetworkMode::None;
    if (network == "host") return NetworkMode::Host;
    fail(pointer,
         "unknown network " + json_quoted(network) + "; allowed values: \"none\", \"host\"");
}

PidMode parse_pid(const Json& value, const std::string& pointer) {
    const std::string& pid = expect_string(value, pointer);
    if (pid == "private") return PidMode::Private;
    if (pid == "host") return PidMode::Host;
    fail(pointer, "unknown pid mode " + json_quoted(pid) + "; allowed values: \"private\", \"host\"");
}

// ---- Security ----------------------------------------------------------------

// Capability names as Docker takes them: with or without "CAP_", any case;
// "ALL" for every one. Bit n = capability n; kAllCapabilities for ALL.
std::uint64_t parse_capabilities(const Json& value, const std::string& pointer) {
    if (!value.is_array()) fail(pointer, "expected an array of capability names such as [\"NET_ADMIN\"]");
    std::uint64_t mask = 0;
    for (std::size_t i = 0; i < value.size(); ++i) {
        const std::string item_pointer = child_pointer(pointer, i);
        const std::string& text = expect_string(value[i], item_pointer);
        std::string name = text;
        for (char& c : name) c = static_cast<char>(is_ascii_lower(c) ? c - 'a' + 'A' : c);
        if (name == "ALL") {
            mask = kAllCapabilities;
            continue;
        }
        if (!name.starts_with("CAP_")) name.insert(0, "CAP_");
        if (const std::optional<int> number = oci::capability_number(name); number && *number >= 0 && *number < 64) {
            mask |= std::uint64_t{1} << *number;
            continue;
        }
        // The known names, without their prefix, for a suggestion.
        static const std::vector<std::string> known = [] {
            std::vector<std::string> names;
            for (int n = 0; n < 64; ++n) {
                try {
                    std::string known_name = oci::capability_name(n);
                    if (oci::capability_number(known_name) == n && known_name.starts_with("CAP_"))
                        names.push_back(known_name.substr(4));
                } catch (...) {
                }
            }
            return names;
        }();
        const std::vector<std::string_view> candidates(known.begin(), known.end());
        std::string problem = "unknown capability " + json_quoted(text);
        if (auto near = closest_match(std::string_view(name).substr(4), candidates))
            problem += "; did you mean " + json_quoted(*near) + "?";
        fail(item_pointer, problem);
    }
    return mask;
}

// The field of a SpecError as the profile's own ("syscalls[2].action").
std::string profile_field(const oci::SpecError& error) {
    std::string field = error.field();
    if (field == "seccomp") return "";
    if (field.starts_with("seccomp.")) field.erase(0, 8);
    return field;
}

// security_opt "seccomp=<file>": read and checked now, so that a mistake
// shows before anything starts. Returns the file's absolute path.
std::string check_seccomp_profile(const std::string& text, const std::string& pointer, const fs::path& base_dir) {
    fs::path path = base_dir / text;  // an absolute `text` replaces base_dir
    std::error_code ignored;
    if (fs::path absolute = fs::absolute(path, ignored); !absolute.empty()) path = absolute;
    path = path.lexically_normal();
    const std::string shown = json_quoted(path.string());
    std::string content;
    try {
        content = read_regular_file(path, kMaxSeccompProfile);
    } catch (const Error& error) {
        const int err = error.sys_errno();
        if (err == EINVAL || err == EFBIG) fail(pointer, shown + ": not a regular file of at most 1 MiB");
        fail(pointer, shown + ": " + errno_text(err));
    }
    nlohmann::json json;
    try {
        json = nlohmann::json::parse(content);
    } catch (const nlohmann::json::parse_error& error) {
        fail(pointer, shown + ": invalid JSON at " + position_text(content, error.byte) + ": " + nlohmann_reason(error));
    } catch (const nlohmann::json::exception& error) {
        fail(pointer, shown + ": invalid JSON: " + nlohmann_reason(error));
    }
    oci::Seccomp profile;
    try {
        profile = oci::parse_seccomp(json, "");
    } catch (const oci::SpecError& error) {
        const std::string field = profile_field(error);
        fail(pointer, shown + ": " + (field.empty() ? "" : field + ": ") + error.problem());
    }
    // What the supervisor cannot do with a valid profile (lifecycle/seccomp.cpp).
    auto unsupported = [&](const std::string& field, const std::string& what) {
        fail(pointer, shown + ": " + field + ": " + what + " is not supported");
    };
    if (profile.default_action == "SCMP_ACT_NOTIFY") unsupported("defaultAction", "SCMP_ACT_NOTIFY");
    for (std::size_t i = 0; i < profile.syscalls.size(); ++i)
        if (profile.syscalls[i].action == "SCMP_ACT_NOTIFY")
            unsupported("syscalls[" + std::to_string(i) + "].action", "SCMP_ACT_NOTIFY");
    for (std::size_t i = 0; i < profile.flags.size(); ++i) {
        const std::string& flag = profile.flags[i];
        if (flag != "SECCOMP_FILTER_FLAG_TSYNC" && flag != "SECCOMP_FILTER_FLAG_LOG" &&
            flag != "SECCOMP_FILTER_FLAG_SPEC_ALLOW")
            unsupported("flags[" + std::to_string(i) + "]", json_quoted(flag));
    }
    return path.string();
}

// Docker's security options: "seccomp=unconfined", "seccomp=<file>",
// "no-new-privileges[:true|false]"; Docker's legacy "key:value" too.
void parse_security_opt(ContainerSpec& spec, const Json& value, const std::string& pointer, const fs::path& base_dir) {
    if (!value.is_array()) fail(pointer, "expected an array of strings such as [\"seccomp=unconfined\"]");
    for (std::size_t i = 0; i < value.size(); ++i) {
        const std::string item_pointer = child_pointer(pointer, i);
        const std::string& option = expect_string(value[i], item_pointer);
        std::size_t split_at = option.find('=');
        if (split_at == std::string::npos) split_at = option.find(':');
        const std::string key = option.substr(0, split_at);
        const std::optional<std::string> argument =
            split_at == std::string::npos ? std::nullopt : std::optional<std::string>(option.substr(split_at + 1));
        if (key == "seccomp") {
            if (!argument || argument->empty())
                fail(item_pointer, "expected \"seccomp=unconfined\" or \"seccomp=<profile.json>\"");
            if (*argument == "unconfined") spec.seccomp_profile = kSeccompUnconfined;
            else if (*argument == "builtin") spec.seccomp_profile.clear();
            else spec.seccomp_profile = check_seccomp_profile(*argument, item_pointer, base_dir);
        } else if (key == "no-new-privileges") {
            if (!argument || *argument == "true") spec.no_new_privileges = true;
            else if (*argument == "false") spec.no_new_privileges = false;
            else
                fail(item_pointer, "invalid value " + json_quoted(*argument) +
                                       "; expected \"no-new-privileges\", \"no-new-privileges:true\" or "
                                       "\"no-new-privileges:false\"");
        } else if (key == "apparmor" || key == "label" || key == "systempaths") {
            fail(item_pointer, json_quoted(option) + " is not supported (no AppArmor or SELinux here, and /proc and "
                                                     "/sys paths are always masked)");
        } else {
            fail(item_pointer, "unknown security option " + json_quoted(option) +
                                   "; allowed: \"seccomp=unconfined\", \"seccomp=<profile.json>\", "
                                   "\"no-new-privileges[:true|false]\"");
        }
    }
}

// ---- Supervision -------------------------------------------------------------

std::chrono::milliseconds parse_duration_field(const Json& value, const std::string& pointer) {
    const std::string& text = expect_string(value, pointer);
    std::optional<std::chrono::nanoseconds> d = parse_duration(text);
    if (!d)
        fail(pointer, "invalid duration " + json_quoted(text) + "; expected e.g. \"10s\", \"1m30s\" or \"200ms\"");
    return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

void parse_restart(Restart& restart, const Json& value, const std::string& pointer) {
    const std::string& text = expect_string(value, pointer);
    const std::string allowed = "; allowed: \"no\", \"always\", \"unless-stopped\", \"on-failure\", "
                                "\"on-failure:N\"";
    if (text == "no") {
        restart.policy = RestartPolicy::No;
    } else if (text == "always") {
        restart.policy = RestartPolicy::Always;
    } else if (text == "unless-stopped") {
        restart.policy = RestartPolicy::UnlessStopped;
    } else if (text == "on-failure") {
        restart.policy = RestartPolicy::OnFailure;
    } else if (text.starts_with("on-failure:")) {
        const std::string count = text.substr(11);
        unsigned n = 0;
        bool valid = !count.empty() && count.size() <= 9;
        for (char c : count) {
            if (!is_ascii_digit(c)) valid = false;
            else n = n * 10 + static_cast<unsigned>(c - '0');
        }
        if (!valid) fail(pointer, "invalid restart policy " + json_quoted(text) + allowed);
        restart.policy = RestartPolicy::OnFailure;
        restart.max_retries = n;
    } else {
        fail(pointer, "unknown restart policy " + json_quoted(text) + allowed);
    }
}

void parse_restart_backoff(Restart& restart, const Json& value, const std::string& pointer) {
    if (!value.is_object()) fail(pointer, "expected an object with initial, max and reset_after");
    constexpr std::array<std::string_view, 3> fields = {"initial", "max", "reset_after"};
    if (!value.contains("max")) {
        // The default max (10 s) must not refuse a larger initial it never saw.
        if (value.contains("initial")) restart.max = std::max(restart.max, parse_duration_field(value["initial"], pointer + "/initial"));
    }
    for (auto it = value.begin(); it != value.end(); ++it) {
        const std::string field_pointer = child_pointer(pointer, it.key());
        if (it.key() == "initial") restart.initial = parse_duration_field(it.value(), field_pointer);
        else if (it.key() == "max") restart.max = parse_duration_field(it.value(), field_pointer);
        else if (it.key() == "reset_after") restart.reset_after = parse_duration_field(it.value(), field_pointer);
        else fail(field_pointer, unknown_field(it.key(), fields));
    }
    // initial 0s restarts at once, every time: no backoff (doubling 0 stays 0).
    if (restart.max < restart.initial) fail(pointer + "/max", "is below \"initial\"");
}

// ---- Console and logs -------------------------------------------------------

// Compose writes logging options as strings ("10m", "3"); numbers are taken too.
std::string option_text(const Json& value, const std::string& pointer) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_number_unsigned()) return std::to_string(value.get<std::uint64_t>());
    fail(pointer, "expected a string");
}

Logging parse_logging(const Json& value, const std::string& pointer, const fs::path& base_dir) {
    if (!value.is_object()) fail(pointer, "expected an object with \"driver\" and \"options\"");
    Logging logging;
    constexpr std::array<std::string_view, 2> fields = {"driver", "options"};
    constexpr std::array<std::string_view, 3> options = {"max-size", "max-file", "path"};
    for (auto it = value.begin(); it != value.end(); ++it) {
        const std::string field_pointer = child_pointer(pointer, it.key());
        if (it.key() == "driver") {
            const std::string& driver = expect_string(it.value(), field_pointer);
            if (driver == "cri") logging.driver = LogDriver::Cri;
            else if (driver == "json-file") logging.driver = LogDriver::JsonFile;
            else if (driver == "none") logging.driver = LogDriver::None;
            else if (driver == "passthrough") logging.driver = LogDriver::Passthrough;
            else
                fail(field_pointer, "unknown log driver " + json_quoted(driver) +
                                        "; allowed: \"cri\", \"json-file\", \"none\", \"passthrough\"");
        } else if (it.key() == "options") {
            if (!it.value().is_object()) fail(field_pointer, "expected an object");
            for (auto o = it.value().begin(); o != it.value().end(); ++o) {
                const std::string option_pointer = child_pointer(field_pointer, o.key());
                if (o.key() == "max-size") {
                    const std::string text = option_text(o.value(), option_pointer);
                    std::optional<std::int64_t> size = text == "-1" ? std::optional<std::int64_t>(0) : parse_size(text);
                    // Below 4 KiB each record could fill a file alone.
                    if (!size || (*size != 0 && *size < 4096))
                        fail(option_pointer, "invalid size " + json_quoted(text) +
                                                 "; expected e.g. \"10m\" or \"512k\" (at least 4k), or \"-1\" for no rotation");
                    logging.max_size = *size;
                } else if (o.key() == "max-file") {
                    const std::string text = option_text(o.value(), option_pointer);
                    unsigned n = 0;
                    bool valid = !text.empty() && text.size() <= 4;
                    for (char c : text) {
                        if (!is_ascii_digit(c)) valid = false;
                        else n = n * 10 + static_cast<unsigned>(c - '0');
                    }
                    if (!valid || n < 1) fail(option_pointer, "must be a number of files from 1 to 9999");
                    logging.max_file = n;
                } else if (o.key() == "path") {
                    const std::string& text = expect_string(o.value(), option_pointer);
                    if (text.empty() || text.back() == '/') fail(option_pointer, "expected a file path");
                    logging.path = (base_dir / text).lexically_normal();
                } else {
                    fail(option_pointer, unknown_field(o.key(), options));
                }
            }
        } else {
            fail(field_pointer, unknown_field(it.key(), fields));
        }
    }
    if ((logging.driver == LogDriver::None || logging.driver == LogDriver::Passthrough) &&
        value.contains("options") && !value["options"].empty())
        fail(pointer + "/options", "the \"" + std::string(logging.driver == LogDriver::None ? "none" : "passthrough") +
                                       "\" driver writes no file and takes no options");
    return logging;
}

int parse_stop_signal(const Json& value, const std::string& pointer) {
    std::optional<int> sig;
    if (value.is_number_integer()) {
        const auto n = value.get<std::int64_t>();
        if (n >= 1 && n <= 64) sig = static_cast<int>(n);
    } else if (value.is_string()) {
        sig = parse_signal(expect_string(value, pointer));
    } else {
        fail(pointer, "expected a signal name such as \"SIGTERM\" or a number");
    }
    if (!sig) fail(pointer, "unknown signal " + value.dump() + "; expected e.g. \"SIGTERM\", \"SIGINT\" or 15");
    if (*sig == SIGKILL || *sig == SIGSTOP) fail(pointer, "a stop signal must be one the container can handle");
    return *sig;
}

// Compose's two forms: ["db", "cache"] (condition service_started), or
// {"db": {"condition": "service_completed_successfully"}}.
// `self` is the container's name, `names` every container's, in file order.
std::vector<Dependency> parse_depends_on(const Json& value, const std::string& pointer, const std::string& self,
                                         std::span<const std::string_view> names) {
    std::vector<Dependency> deps;
    auto add = [&](const std::string& name, DependencyCondition condition, const std::string& item_pointer) {
        if (name == self) fail(item_pointer, "a container cannot depend on itself");
        if (std::find(names.begin(), names.end(), name) == names.end()) {
            std::string problem = "unknown container " + json_quoted(name);
            if (auto near = closest_match(name, names)) problem += "; did you mean " + json_quoted(*near) + "?";
            fail(item_pointer, problem);
        }
        for (const Dependency& d : deps)
            if (d.name == name) fail(item_pointer, "duplicate dependency " + json_quoted(name));
        deps.push_back({name, condition});
    };
    if (value.is_array()) {
        for (std::size_t i = 0; i < value.size(); ++i)
            add(expect_string(value[i], child_pointer(pointer, i)), DependencyCondition::Started,
                child_pointer(pointer, i));
    } else if (value.is_object()) {
        for (auto it = value.begin(); it != value.end(); ++it) {
            const std::string item_pointer = child_pointer(pointer, it.key());
            if (!it.value().is_object()) fail(item_pointer, "expected an object such as {\"condition\": \"service_started\"}");
            DependencyCondition condition = DependencyCondition::Started;
            for (auto f = it.value().begin(); f != it.value().end(); ++f) {
                const std::string field_pointer = child_pointer(item_pointer, f.key());
                if (f.key() != "condition") {
                    constexpr std::array<std::string_view, 1> known = {"condition"};
                    fail(field_pointer, unknown_field(f.key(), known));
                }
                const std::string& text = expect_string(f.value(), field_pointer);
                if (text == "service_started") condition = DependencyCondition::Started;
                else if (text == "service_completed_successfully") condition = DependencyCondition::CompletedSuccessfully;
                else if (text == "service_healthy") condition = DependencyCondition::Healthy;
                else
                    fail(field_pointer, "unknown condition " + json_quoted(text) +
                                            "; allowed: \"service_started\", \"service_healthy\", "
                                            "\"service_completed_successfully\"");
            }
            add(it.key(), condition, item_pointer);
        }
    } else {
        fail(pointer, "expected an array of container names or an object");
    }
    return deps;
}

// Compose's healthcheck. `test` is ["CMD", argv…], ["CMD-SHELL", "text"],
// ["NONE"] (no check) or a string (as CMD-SHELL). Returns nullopt for a
// disabled check.
std::optional<Healthcheck> parse_healthcheck(const Json& value, const std::string& pointer) {
    if (!value.is_object()) fail(pointer, "expected an object with test, interval, timeout, retries, start_period");
    constexpr std::array<std::string_view, 7> fields = {"test",    "interval",     "timeout",       "retries",
                                                        "start_period", "start_interval", "disable"};
    Healthcheck check;
    bool disabled = false;
    auto positive = [&](const Json& v, const std::string& p) {
        std::chrono::milliseconds d = parse_duration_field(v, p);
        if (d.count() < 1) fail(p, "must be at least 1ms");
        return d;
    };
    for (auto it = value.begin(); it != value.end(); ++it) {
        const std::string field_pointer = child_pointer(pointer, it.key());
        const Json& field = it.value();
        if (it.key() == "test") {
            if (field.is_string()) {
                const std::string& text = expect_string(field, field_pointer);
                if (text.empty()) fail(field_pointer, "empty command");
                check.test = {"/bin/sh", "-c", text};
                continue;
            }
            std::vector<std::string> words = parse_words(field, field_pointer);
            const std::string kind = words.empty() ? "" : words.front();
            if (kind == "NONE" && words.size() == 1) {
                disabled = true;
            } else if (kind == "CMD" && words.size() >= 2 && !words[1].empty()) {
                check.test.assign(words.begin() + 1, words.end());
            } else if (kind == "CMD-SHELL" && words.size() == 2 && !words[1].empty()) {
                check.test = {"/bin/sh", "-c", words[1]};
            } else {
                fail(field_pointer, "expected [\"CMD\", \"program\", args…], [\"CMD-SHELL\", \"command\"], "
                                    "[\"NONE\"] or a shell command string");
            }
        } else if (it.key() == "interval") {
            check.interval = positive(field, field_pointer);
        } else if (it.key() == "timeout") {
            check.timeout = positive(field, field_pointer);
        } else if (it.key() == "start_period") {
            check.start_period = parse_duration_field(field, field_pointer);
        } else if (it.key() == "start_interval") {
            check.start_interval = positive(field, field_pointer);
        } else if (it.key() == "retries") {
            if (!field.is_number_unsigned() || field.get<std::uint64_t>() < 1 || field.get<std::uint64_t>() > 1000)
                fail(field_pointer, "must be an integer from 1 to 1000");
            check.retries = field.get<unsigned>();
        } else if (it.key() == "disable") {
            disabled = expect_bool(field, field_pointer);
        } else {
            fail(field_pointer, unknown_field(it.key(), fields));
        }
    }
    if (disabled) return std::nullopt;
    if (check.test.empty()) fail(pointer + "/test", "missing; give the command that checks the container");
    return check;
}

UnhealthyAction parse_on_unhealthy(const Json& value, const std::string& pointer) {
    const std::string& text = expect_string(value, pointer);
    if (text == "restart") return UnhealthyAction::Restart;
    if (text == "none") return UnhealthyAction::None;
    fail(pointer, "unknown action " + json_quoted(text) + "; allowed: \"restart\", \"none\"");
}

Readiness parse_ready(const Json& value, const std::string& pointer) {
    const std::string& text = expect_string(value, pointer);
    if (text == "notify") return Readiness::Notify;
    if (text == "exec") return Readiness::Exec;
    fail(pointer, "unknown readiness " + json_quoted(text) +
                      "; allowed: \"exec\" (ready once started), \"notify\" (ready on sd_notify READY=1)");
}

// No dependency loops (parse_depends_on checked the names).
void check_dependencies(const std::vector<ContainerSpec>& containers, const std::string& pointer) {
    std::unordered_map<std::string, const ContainerSpec*> by_name;
    for (const ContainerSpec& c : containers) by_name.emplace(c.name, &c);
    // Depth-first search; a back edge is a cycle, reported as its path.
    enum class Mark { None, Active, Done };
    std::unordered_map<std::string, Mark> marks;
    std::vector<std::string> path;
    std::function<void(const ContainerSpec&)> visit = [&](const ContainerSpec& c) {
        marks[c.name] = Mark::Active;
        path.push_back(c.name);
        for (const Dependency& d : c.depends_on) {
            if (marks[d.name] == Mark::Active) {
                std::string cycle;
                auto from = std::find(path.begin(), path.end(), d.name);
                for (auto it = from; it != path.end(); ++it) cycle += *it + " -> ";
                fail(child_pointer(child_pointer(pointer, c.name), "depends_on"),
                     "dependency cycle: " + cycle + d.name);
            }
            if (marks[d.name] == Mark::None) visit(*by_name.at(d.name));
        }
        path.pop_back();
        marks[c.name] = Mark::Done;
    };
    for (const ContainerSpec& c : containers)
        if (marks[c.name] == Mark::None) visit(c);
}

// ---- Resource limits -------------------------------------------------------

// The smallest memory limit a container can start under, as Docker has it.
constexpr std::int64_t min_memory_limit = 6 * 1024 * 1024;

// Bytes: an integer, or a string such as "64m" or "1g".
std::int64_t parse_bytes(const Json& value, const std::string& pointer) {
    const std::string expected = "; expected bytes or a size such as \"64m\" or \"1.5g\"";
    if (value.is_number_unsigned()) {
        if (value.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) fail(pointer, "too large");
        return value.get<std::int64_t>();
    }
    if (value.is_number()) fail(pointer, "invalid size " + value.dump() + expected);
    if (!value.is_string()) fail(pointer, "expected a string or an integer");
    const std::string& text = expect_string(value, pointer);
    std::optional<std::int64_t> bytes = parse_size(text);
    if (!bytes) fail(pointer, "invalid size " + json_quoted(text) + expected);
    return *bytes;
}

void parse_resource(Resources& r, const std::string& key, const Json& value, const std::string& pointer) {
    if (key == "mem_limit") {
        r.memory = parse_bytes(value, pointer);
        if (*r.memory < min_memory_limit)
            fail(pointer, "a memory limit below 6 MiB leaves too little to start a container");
    } else if (key == "memswap_limit") {
        // -1: unlimited swap; 0: not set, as in Compose.
        if (value.is_number_integer() && value.get<std::int64_t>() == -1) r.memory_swap = -1;
        else if (std::int64_t bytes = parse_bytes(value, pointer); bytes != 0) r.memory_swap = bytes;
    } else if (key == "mem_reservation") {
        r.memory_reservation = parse_bytes(value, pointer);
    } else if (key == "cpus") {
        double cpus = 0;
        if (value.is_number()) {
            cpus = value.get<double>();
        } else if (value.is_string()) {
            const std::string& text = expect_string(value, pointer);
            char* end = nullptr;
            cpus = std::strtod(text.c_str(), &end);
            if (text.empty() || *end != '\0') fail(pointer, "invalid number of CPUs " + json_quoted(text));
        } else {
            fail(pointer, "expected a number");
        }
        // cpu.max quotas are in microseconds per 100 ms period: 0.01 CPU is 1 ms.
        if (!(cpus >= 0.01) || cpus > 65536) fail(pointer, "must be between 0.01 and the number of CPUs");
        r.cpus = cpus;
    } else if (key == "cpu_shares") {
        if (!value.is_number_integer()) fail(pointer, "expected an integer");
        const std::int64_t shares = value.get<std::int64_t>();
        if (shares < 2 || shares > 262144) fail(pointer, "must be between 2 and 262144 (1024 is the default weight)");
        r.cpu_shares = static_cast<std::uint64_t>(shares);
    } else if (key == "cpuset") {
        const std::string& cpus = expect_string(value, pointer);
        if (!parse_cpu_list(cpus))
            fail(pointer, "invalid CPU list " + json_quoted(cpus) + "; expected e.g. \"0-2,4\"");
        r.cpuset = cpus;
    } else if (key == "pids_limit") {
        // The kernel's PID_MAX_LIMIT: pids.max takes nothing larger.
        constexpr std::int64_t max_pids = 4 * 1024 * 1024;
        if (!value.is_number_integer()) fail(pointer, "expected an integer");
        if (value.is_number_unsigned() && value.get<std::uint64_t>() > static_cast<std::uint64_t>(max_pids))
            fail(pointer, "must be at most " + std::to_string(max_pids));
        const std::int64_t pids = value.get<std::int64_t>();
        if (pids < -1) fail(pointer, "must be positive, or -1 or 0 for no limit");
        if (pids > 0) r.pids = pids;  // -1 and 0 mean no limit, as in Compose
    }
}

// Relations between limits, once all are read.
void check_resources(const Resources& r, const std::string& pointer) {
    if (r.memory_swap && *r.memory_swap != -1) {
        if (!r.memory) fail(pointer + "/memswap_limit", "needs \"mem_limit\" (it counts memory plus swap)");
        if (*r.memory_swap < *r.memory)
            fail(pointer + "/memswap_limit", "is memory plus swap, so it cannot be below \"mem_limit\"");
    }
    if (r.memory && r.memory_reservation && *r.memory_reservation > *r.memory)
        fail(pointer + "/mem_reservation", "is above \"mem_limit\"");
}

bool is_resource_field(std::string_view key) {
    return key == "mem_limit" || key == "memswap_limit" || key == "mem_reservation" || key == "cpus" ||
           key == "cpu_shares" || key == "cpuset" || key == "pids_limit";
}

std::string default_hostname(const std::string& name) {
    std::string hostname = name;
    for (char& c : hostname) {
        if (c == '_') c = '-';  // the only container-name character a hostname lacks
    }
    return hostname;
}

unsigned parse_replicas(const Json& value, const std::string& pointer) {
    constexpr unsigned max_replicas = 1000;
    if (!value.is_number_integer()) fail(pointer, "expected an integer");
    if (value.is_number_unsigned() && value.get<std::uint64_t>() >= 1 && value.get<std::uint64_t>() <= max_replicas)
        return value.get<unsigned>();
    fail(pointer, "must be from 1 to " + std::to_string(max_replicas));
}

// `replicas` is returned apart: the caller turns one entry into that many
// containers.
ContainerSpec parse_container(const std::string& name, const Json& value, const std::string& pointer,
                              const fs::path& base_dir, std::span<const std::string_view> names,
                              unsigned& replicas) {
    if (!value.is_object()) fail(pointer, "expected an object");
    // Conflicting pairs first: "both given" says more than whatever is wrong
    // with either value.
    if (value.contains("image") && value.contains("rootfs"))
        fail(pointer + "/rootfs", "both \"image\" and \"rootfs\" given; use only one");
    if (value.contains("network") && value.contains("network_mode"))
        fail(pointer + "/network_mode",
             "\"network_mode\" is an alias of \"network\"; give only one");

    ContainerSpec spec;
    spec.name = name;
    spec.hostname = default_hostname(name);
    replicas = 1;
    std::optional<std::vector<std::string>> entrypoint;
    std::optional<std::vector<std::string>> command;

    for (auto it = value.begin(); it != value.end(); ++it) {
        const std::string& key = it.key();
        const Json& field = it.value();
        const std::string field_pointer = child_pointer(pointer, key);
        if (key.starts_with("x-")) continue;  // extension fields, as in Compose
        if (key == "image")
            spec.image = parse_image(field, field_pointer);
        else if (key == "rootfs")
            spec.rootfs = parse_rootfs(field, field_pointer, base_dir);
        else if (key == "command")
            command = parse_words(field, field_pointer);
        else if (key == "entrypoint")
            entrypoint = parse_words(field, field_pointer);
        else if (key == "environment")
            spec.env = parse_environment(field, field_pointer);
        else if (key == "working_dir")
            spec.working_dir = parse_working_dir(field, field_pointer);
        else if (key == "user")
            spec.user = parse_user(field, field_pointer);
        else if (key == "hostname")
            spec.hostname = parse_hostname(field, field_pointer);
        else if (key == "network" || key == "network_mode")
            spec.network = parse_network(field, field_pointer);
        else if (key == "read_only")
            spec.read_only = expect_bool(field, field_pointer);
        else if (key == "pid")
            spec.pid = parse_pid(field, field_pointer);
        else if (key == "restart")
            parse_restart(spec.restart, field, field_pointer);
        else if (key == "restart_backoff")
            parse_restart_backoff(spec.restart, field, field_pointer);
        else if (key == "stop_signal")
            spec.stop_signal = parse_stop_signal(field, field_pointer);
        else if (key == "stop_grace_period")
            spec.stop_grace_period = parse_duration_field(field, field_pointer);
        else if (key == "depends_on")
            spec.depends_on = parse_depends_on(field, field_pointer, name, names);
        else if (key == "replicas")
            replicas = parse_replicas(field, field_pointer);
        else if (key == "healthcheck")
            spec.healthcheck = parse_healthcheck(field, field_pointer);
        else if (key == "on_unhealthy")
            spec.on_unhealthy = parse_on_unhealthy(field, field_pointer);
        else if (key == "ready")
            spec.ready = parse_ready(field, field_pointer);
        else if (key == "tty")
            spec.tty = expect_bool(field, field_pointer);
        else if (key == "stdin_open")
            spec.stdin_open = expect_bool(field, field_pointer);
        else if (key == "logging")
            spec.logging = parse_logging(field, field_pointer, base_dir);
        else if (key == "cap_add")
            spec.cap_add_mask = parse_capabilities(field, field_pointer);
        else if (key == "cap_drop")
            spec.cap_drop_mask = parse_capabilities(field, field_pointer);
        else if (key == "privileged") {
            if (expect_bool(field, field_pointer))
                fail(field_pointer, "privileged containers are not supported; grant what the container needs with "
                                    "\"cap_add\" and \"security_opt\" (e.g. \"seccomp=unconfined\")");
        } else if (key == "security_opt")
            parse_security_opt(spec, field, field_pointer, base_dir);
        else if (is_resource_field(key))
            parse_resource(spec.resources, key, field, field_pointer);
        else if (key == "deploy")
            fail(field_pointer, "not supported; give limits as service fields: mem_limit, memswap_limit, "
                                "mem_reservation, cpus, cpu_shares, cpuset, pids_limit");
        else
            fail(field_pointer, unknown_field(key, container_fields, container_field_synonyms));
    }

    if (spec.image.empty() && spec.rootfs.empty()) fail(pointer, "needs \"image\" or \"rootfs\"");
    check_resources(spec.resources, pointer);
    if (spec.on_unhealthy == UnhealthyAction::Restart && !spec.healthcheck)
        fail(pointer + "/on_unhealthy", "needs a \"healthcheck\"");

    if (!entrypoint && !command)
        fail(pointer + "/command", "missing; give \"command\" (and/or \"entrypoint\")");
    const bool program_from_entrypoint = entrypoint && !entrypoint->empty();
    if (entrypoint) spec.argv = std::move(*entrypoint);
    if (command) spec.argv.insert(spec.argv.end(), command->begin(), command->end());
    if (spec.argv.empty()) {
        if (command) fail(pointer + "/command", "empty command");
        fail(pointer + "/entrypoint", "empty entrypoint and no \"command\"");
    }
    if (spec.argv[0].empty())
        fail(pointer + (program_from_entrypoint ? "/entrypoint" : "/command"),
             "the program to run (the first word) is empty");
    return spec;
}

std::vector<ContainerSpec> parse_containers(const Json& value, const std::string& pointer,
                                            const fs::path& base_dir) {
    if (!value.is_object()) fail(pointer, "expected an object");
    if (value.empty()) fail(pointer, "no containers");
    std::vector<std::string_view> names;  // for depends_on, which may name a later container
    for (auto it = value.begin(); it != value.end(); ++it) names.push_back(it.key());
    std::vector<ContainerSpec> containers;
    // An entry with replicas: N becomes name-1 … name-N; a dependency on it
    // is one on each of them.
    std::unordered_map<std::string, std::vector<std::string>> replica_names;
    std::unordered_map<std::string, std::string> entry_of;  // container name -> its entry in the file
    for (auto it = value.begin(); it != value.end(); ++it) {
        const std::string container_pointer = child_pointer(pointer, it.key());
        check_container_name(it.key(), container_pointer);
        unsigned replicas = 1;
        ContainerSpec spec = parse_container(it.key(), it.value(), container_pointer, base_dir, names, replicas);
        if (!it.value().contains("replicas")) {
            entry_of[spec.name] = it.key();
            containers.push_back(std::move(spec));
            continue;
        }
        const bool own_hostname = it.value().contains("hostname");
        for (unsigned i = 1; i <= replicas; ++i) {
            ContainerSpec replica = spec;
            replica.name = it.key() + "-" + std::to_string(i);
            if (replica.name.size() > max_name_length || value.contains(replica.name))
                fail(container_pointer + "/replicas",
                     "the replica name " + json_quoted(replica.name) +
                         (value.contains(replica.name) ? " is another container's" : " is too long"));
            if (!own_hostname) replica.hostname = default_hostname(replica.name);
            replica_names[it.key()].push_back(replica.name);
            entry_of[replica.name] = it.key();
            containers.push_back(std::move(replica));
        }
    }
    for (ContainerSpec& c : containers) {
        std::vector<Dependency> deps;
        for (const Dependency& d : c.depends_on) {
            auto replicated = replica_names.find(d.name);
            if (replicated == replica_names.end()) {
                deps.push_back(d);
                continue;
            }
            for (const std::string& name : replicated->second) deps.push_back({name, d.condition});
        }
        c.depends_on = std::move(deps);
    }
    check_dependencies(containers, pointer);
    std::unordered_map<std::string, const ContainerSpec*> by_name;
    for (const ContainerSpec& c : containers) by_name.emplace(c.name, &c);
    for (const ContainerSpec& c : containers)
        for (const Dependency& d : c.depends_on)
            if (d.condition == DependencyCondition::Healthy && !by_name.at(d.name)->healthcheck)
                fail(child_pointer(child_pointer(child_pointer(pointer, entry_of.at(c.name)), "depends_on"),
                                   entry_of.at(d.name)) + "/condition",
                     "\"service_healthy\", but " + json_quoted(entry_of.at(d.name)) + " has no healthcheck");
    // Two writers of one log file would interleave and rotate each other's lines.
    std::unordered_map<std::string, std::string> log_owner;
    for (const ContainerSpec& c : containers) {
        if (c.logging.path.empty()) continue;
        auto [it, fresh] = log_owner.emplace(c.logging.path.string(), c.name);
        if (!fresh)
            fail(child_pointer(pointer, entry_of.at(c.name)) + "/logging/options/path",
                 json_quoted(c.logging.path.string()) + " is also the log of " + json_quoted(it->second) +
                     (entry_of.at(c.name) == entry_of.at(it->second) ? " (replicas need a log file each)" : ""));
    }
    return containers;
}

// {"size": N}: pool stubs kept ready per kind of container; 0 disables.
unsigned parse_pool(const Json& value, const std::string& pointer) {
    constexpr unsigned max_size = 64;
    if (!value.is_object()) fail(pointer, "expected an object such as {\"size\": 2}");
    unsigned size = FleetSpec{}.pool_size;
    for (auto it = value.begin(); it != value.end(); ++it) {
        const std::string field_pointer = child_pointer(pointer, it.key());
        if (it.key() != "size") fail(field_pointer, "unknown field " + json_quoted(it.key()) + "; allowed: \"size\"");
        if (!it.value().is_number_unsigned() || it.value().get<std::uint64_t>() > max_size)
            fail(field_pointer, "must be a whole number from 0 to " + std::to_string(max_size));
        size = it.value().get<unsigned>();
    }
    return size;
}

// An absolute cgroup path such as "/rusty-supervisor" or "/", normalised:
// no "." or ".." components, no empty ones, no trailing '/'.
std::string parse_cgroup_parent(const Json& value, const std::string& pointer) {
    return parse_cgroup_path(expect_string(value, pointer), pointer);
}

}  // namespace

std::string parse_cgroup_path(std::string_view path, const std::string& pointer) {
    if (!path.starts_with('/')) fail(pointer, "must be an absolute cgroup path such as \"/rusty-supervisor\"");
    std::string normal;
    for (std::string_view part : split(path.substr(1), '/')) {
        if (part.empty()) continue;
        if (part == "." || part == "..")
            fail(pointer, "must not contain \".\" or \"..\": " + json_quoted(path));
        if (part.size() > 255) fail(pointer, "cgroup name longer than 255 bytes");
        if (is_interface_file_name(part))
            fail(pointer, "invalid cgroup name " + json_quoted(part) + ": the name of a cgroup interface file");
        normal += "/";
        normal += part;
    }
    return normal.empty() ? "/" : normal;
}

bool is_interface_file_name(std::string_view name) {
    constexpr std::string_view files[] = {"tasks", "notify_on_release", "release_agent"};
    constexpr std::string_view prefixes[] = {"cgroup.", "memory.", "cpu.",     "cpuset.", "cpuacct.", "pids.",
                                             "io.",     "blkio.",  "freezer.", "devices.", "hugetlb.", "net_cls.",
                                             "net_prio.", "perf_event.", "rdma.", "misc."};
    for (std::string_view f : files)
        if (name == f) return true;
    for (std::string_view p : prefixes)
        if (name.starts_with(p)) return true;
    return false;
}

FleetSpec parse_fleet(std::string_view text, const std::filesystem::path& base_dir,
                      std::string_view default_name) {
    const Json document = parse_json(text);
    if (!document.is_object()) fail("", "expected an object");
    if (document.contains("containers") && document.contains("services"))
        fail("/services", "\"services\" is an alias of \"containers\"; give only one");

    FleetSpec fleet;
    bool has_name = false;
    bool has_containers = false;
    for (auto it = document.begin(); it != document.end(); ++it) {
        const std::string& key = it.key();
        const std::string pointer = child_pointer("", key);
        if (key.starts_with("x-")) continue;  // extension fields, as in Compose
        if (key == "$schema") {
            expect_string(it.value(), pointer);
        } else if (key == "name") {
            fleet.name = parse_fleet_name(it.value(), pointer);
            has_name = true;
        } else if (key == "cgroup_parent") {
            fleet.cgroup_parent = parse_cgroup_parent(it.value(), pointer);
        } else if (key == "best_effort_limits") {
            fleet.best_effort_limits = expect_bool(it.value(), pointer);
        } else if (key == "pool") {
            fleet.pool_size = parse_pool(it.value(), pointer);
        } else if (key == "containers" || key == "services") {
            fleet.containers = parse_containers(it.value(), pointer, base_dir);
            has_containers = true;
        } else {
            fail(pointer, unknown_field(key, top_level_fields));
        }
    }
    if (!has_containers) fail("", "missing \"containers\"");
    if (!has_name) fleet.name = fleet_name_from(default_name);
    return fleet;
}

FleetSpec load_fleet(const std::filesystem::path& path) {
    auto cannot_read = [&path](int err) {
        fail("", "cannot read " + json_quoted(path.string()) + ": " + errno_text(err));
    };
    // Any file, a pipe too (--config <(generate-fleet)).
    std::string text;
    try {
        text = read_file(path, kMaxFleetFile);
    } catch (const Error& error) {
        cannot_read(error.sys_errno());
    }

    std::error_code ignored;
    fs::path absolute = fs::absolute(path, ignored);
    if (absolute.empty()) absolute = path;
    const fs::path base_dir = absolute.lexically_normal().parent_path();
    return parse_fleet(text, base_dir, path.stem().string());
}

}  // namespace rusty
