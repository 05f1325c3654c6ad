#include "devices.hpp"

#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cerrno>
#include <sstream>

#include "text.hpp"

namespace mantle::isolators::cgroups_common {

namespace {

Result<std::optional<unsigned>> parseNumber(const std::string& text, const std::string& entry) {
  if (text == "*") return std::optional<unsigned>();
  if (text.empty() || text.size() > 9 || text.find_first_not_of("0123456789") != std::string::npos) {
    return invalidArgument("bad device number '" + text + "' in '" + entry + "'");
  }
  return std::optional<unsigned>(static_cast<unsigned>(std::stoul(text)));
}

Status checkAccess(const std::string& access, const std::string& entry) {
  if (access.empty() || access.size() > 3 || access.find_first_not_of("rwm") != std::string::npos) {
    return invalidArgument("bad device access '" + access + "' in '" + entry + "' (a subset of rwm)");
  }
  return {};
}

Status writeEach(const std::filesystem::path& file, const std::vector<DeviceEntry>& entries) {
  for (const DeviceEntry& e : entries) {
    if (Status s = writeText(file, e.format()); !s.ok()) return s;
  }
  return {};
}

}  // namespace

std::string DeviceEntry::format() const {
  auto number = [](const std::optional<unsigned>& n) { return n ? std::to_string(*n) : std::string("*"); };
  if (type == 'a') return "a *:* " + access;
  return std::string(1, type) + " " + number(major) + ":" + number(minor) + " " + access;
}

bool DeviceEntry::covers(const DeviceEntry& other) const {
  if (type != 'a' && type != other.type) return false;
  if (type != 'a') {
    if (major && (!other.major || *major != *other.major)) return false;
    if (minor && (!other.minor || *minor != *other.minor)) return false;
  }
  for (char c : other.access) {
    if (access.find(c) == std::string::npos) return false;
  }
  return true;
}

Result<DeviceEntry> parseDeviceEntry(const std::string& text) {
  std::vector<std::string> fields = splitWhitespace(text);
  if (fields.empty() || fields.size() > 3) return invalidArgument("bad device entry '" + text + "'");
  DeviceEntry entry;
  if (fields[0].front() == '/') {
    if (fields.size() > 2) return invalidArgument("bad device entry '" + text + "' (a path and its access)");
    struct stat st {};
    if (::stat(fields[0].c_str(), &st) != 0) {
      return Error(StatusCode::kNotFound, "device " + fields[0] + ": " + errnoText(errno));
    }
    if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
      return invalidArgument(fields[0] + " is not a character or block device");
    }
    entry.type = S_ISCHR(st.st_mode) ? 'c' : 'b';
    entry.major = ::major(st.st_rdev);
    entry.minor = ::minor(st.st_rdev);
    if (fields.size() == 2) entry.access = fields[1];
  } else {
    if (fields[0] != "a" && fields[0] != "c" && fields[0] != "b") {
      return invalidArgument("bad device type '" + fields[0] + "' in '" + text + "' (a, c or b)");
    }
    entry.type = fields[0][0];
    if (entry.type == 'a') {
      if (fields.size() == 3 || (fields.size() == 2 && fields[1].find(':') == std::string::npos)) {
        entry.access = fields.back();
      }
    } else {
      if (fields.size() < 2) return invalidArgument("device entry '" + text + "' has no major:minor");
      std::size_t colon = fields[1].find(':');
      if (colon == std::string::npos) return invalidArgument("bad major:minor '" + fields[1] + "' in '" + text + "'");
      Result<std::optional<unsigned>> major = parseNumber(fields[1].substr(0, colon), text);
      if (!major.ok()) return major.error();
      Result<std::optional<unsigned>> minor = parseNumber(fields[1].substr(colon + 1), text);
      if (!minor.ok()) return minor.error();
      entry.major = *major;
      entry.minor = *minor;
      if (fields.size() == 3) entry.access = fields[2];
    }
  }
  if (Status s = checkAccess(entry.access, text); !s.ok()) return s.error();
  return entry;
}

std::vector<DeviceEntry> defaultDevices() {
  auto c = [](std::optional<unsigned> major, std::optional<unsigned> minor, const char* access) {
    return DeviceEntry{'c', major, minor, access};
  };
  return {
      c(std::nullopt, std::nullopt, "m"),                 // mknod of character devices
      DeviceEntry{'b', std::nullopt, std::nullopt, "m"},  // and block devices
      c(1, 3, "rwm"),
      c(1, 5, "rwm"),
      c(1, 7, "rwm"),  // null, zero, full
      c(1, 8, "rwm"),
      c(1, 9, "rwm"),  // random, urandom
      c(5, 0, "rwm"),
      c(5, 1, "rwm"),
      c(5, 2, "rwm"),               // tty, console, ptmx
      c(136, std::nullopt, "rwm"),  // /dev/pts/*
      c(10, 200, "rwm"),            // net/tun
  };
}

Status restrictV1(const std::filesystem::path& dir, const std::vector<DeviceEntry>& allowed) {
  if (Status s = writeText(dir / "devices.deny", "a"); !s.ok()) return s;
  return writeEach(dir / "devices.allow", allowed);
}

Status allowV1(const std::filesystem::path& dir, const std::vector<DeviceEntry>& entries) {
  return writeEach(dir / "devices.allow", entries);
}

Status denyV1(const std::filesystem::path& dir, const std::vector<DeviceEntry>& entries) {
  return writeEach(dir / "devices.deny", entries);
}

Result<std::vector<DeviceEntry>> listV1(const std::filesystem::path& dir) {
  Result<std::string> text = readText(dir / "devices.list");
  if (!text.ok()) return text.error();
  std::vector<DeviceEntry> entries;
  std::istringstream lines(*text);
  std::string line;
  while (std::getline(lines, line)) {
    if (trim(line).empty()) continue;
    Result<DeviceEntry> e = parseDeviceEntry(line);
    if (!e.ok()) return e.error().withContext(dir.string() + "/devices.list");
    entries.push_back(*e);
  }
  return entries;
}

}  // namespace mantle::isolators::cgroups_common
