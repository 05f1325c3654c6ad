#include "runtime_rule.hpp"

#include <fstream>
#include <set>
#include <sstream>

namespace mantle::isolators::docker {

Result<std::optional<v1::CommandInfo>> launchCommand(const v1::CommandInfo& command, const v1::ImageConfig& image) {
  if (command.shell()) {
    if (command.value().empty()) return invalidArgument("docker/runtime: a shell command needs a value");
    return std::optional<v1::CommandInfo>();
  }
  if (!command.value().empty()) return std::optional<v1::CommandInfo>();
  const auto& program = image.entrypoint_size() > 0 ? image.entrypoint() : image.cmd();
  if (program.empty()) {
    return invalidArgument(
        "docker/runtime: the command has no value and the image has neither an Entrypoint nor a Cmd");
  }
  v1::CommandInfo out = command;
  out.set_shell(false);
  out.set_value(program[0]);
  out.clear_arguments();
  // The program's own words: the whole Entrypoint, or Cmd[0].
  const int own = image.entrypoint_size() > 0 ? image.entrypoint_size() : 1;
  for (int i = 0; i < own; ++i) out.add_arguments(program[i]);
  if (command.arguments_size() > 0) {
    for (const std::string& word : command.arguments()) out.add_arguments(word);
  } else if (image.entrypoint_size() > 0) {
    for (const std::string& word : image.cmd()) out.add_arguments(word);
  } else {
    for (int i = 1; i < image.cmd_size(); ++i) out.add_arguments(image.cmd(i));
  }
  return std::optional<v1::CommandInfo>(std::move(out));
}

std::vector<std::pair<std::string, std::string>> imageEnvironment(const v1::ImageConfig& image,
                                                                  const v1::CommandInfo& command) {
  std::set<std::string> own;
  for (const auto& variable : command.environment().variables()) own.insert(variable.name());
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& entry : image.env()) {
    const std::size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    std::string name = entry.substr(0, eq);
    if (own.count(name) > 0) continue;
    out.emplace_back(std::move(name), entry.substr(eq + 1));
  }
  return out;
}

namespace {

bool numeric(const std::string& text) {
  return !text.empty() && text.size() < 10 && text.find_first_not_of("0123456789") == std::string::npos;
}

// The fields of the first line of `file` (colon-separated, at least 3: a
// group's member list may be empty) whose field `index` is `value`.
std::optional<std::vector<std::string>> lookup(const std::string& file, std::size_t index, const std::string& value) {
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    std::istringstream parts(line);
    for (std::string field; std::getline(parts, field, ':');) fields.push_back(field);
    if (fields.size() >= 3 && fields.size() > index && fields[index] == value) return fields;
  }
  return std::nullopt;
}

}  // namespace

Result<std::string> imageUser(const std::string& user, const std::string& rootfs) {
  const std::size_t colon = user.find(':');
  const std::string name = user.substr(0, colon);
  std::string gid = colon == std::string::npos ? "" : user.substr(colon + 1);
  if (name.empty()) return invalidArgument("docker/runtime: the image's User '" + user + "' names no user");
  std::string uid = name;
  if (numeric(name)) {
    // A uid the image does not list runs in group 0, as under Docker.
    if (gid.empty()) {
      std::optional<std::vector<std::string>> entry = lookup(rootfs + "/etc/passwd", 2, name);
      gid = entry && entry->size() >= 4 && numeric((*entry)[3]) ? (*entry)[3] : "0";
    }
  } else {
    std::optional<std::vector<std::string>> entry = lookup(rootfs + "/etc/passwd", 0, name);
    if (!entry || entry->size() < 4 || !numeric((*entry)[2]) || !numeric((*entry)[3])) {
      return notFound("docker/runtime: the image's User '" + name + "' is not in the image's /etc/passwd");
    }
    uid = (*entry)[2];
    if (gid.empty()) gid = (*entry)[3];
  }
  if (!numeric(gid)) {
    std::optional<std::vector<std::string>> group = lookup(rootfs + "/etc/group", 0, gid);
    if (!group || !numeric((*group)[2])) {
      return notFound("docker/runtime: the image's group '" + gid + "' is not in the image's /etc/group");
    }
    gid = (*group)[2];
  }
  return uid + ":" + gid;
}

}  // namespace mantle::isolators::docker
