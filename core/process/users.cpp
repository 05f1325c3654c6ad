#include "process/users.hpp"

#include <pwd.h>

#include <fstream>
#include <sstream>
#include <vector>

namespace mantle::process {

namespace {

bool numeric(const std::string& text) {
  return !text.empty() && text.size() < 10 && text.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

Result<UserIds> resolveUser(const std::string& rootfs, const std::string& user) {
  const std::size_t colon = user.find(':');
  const std::string uid = user.substr(0, colon);
  const std::string gid = colon == std::string::npos ? uid : user.substr(colon + 1);
  if (numeric(uid) && numeric(gid)) {
    return UserIds{static_cast<uid_t>(std::stoul(uid)), static_cast<gid_t>(std::stoul(gid))};
  }
  if (rootfs.empty()) {
    struct passwd entry;
    struct passwd* found = nullptr;
    std::vector<char> buffer(16384);
    if (::getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || found == nullptr) {
      return notFound("user '" + user + "' does not exist on this agent");
    }
    return UserIds{entry.pw_uid, entry.pw_gid};
  }
  std::ifstream passwd(rootfs + "/etc/passwd");
  for (std::string line; std::getline(passwd, line);) {
    std::vector<std::string> fields;
    std::istringstream in(line);
    for (std::string field; std::getline(in, field, ':');) fields.push_back(field);
    if (fields.size() >= 4 && fields[0] == user && numeric(fields[2]) && numeric(fields[3])) {
      return UserIds{static_cast<uid_t>(std::stoul(fields[2])), static_cast<gid_t>(std::stoul(fields[3]))};
    }
  }
  return notFound("user '" + user + "' is not in the image's /etc/passwd");
}

}  // namespace mantle::process
