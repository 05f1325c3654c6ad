#include "agent/agent_info.hpp"

#include <sys/statvfs.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <set>
#include <thread>

#include "resources/resources.hpp"
#include "wire/json.hpp"

namespace mantle::agent {

namespace {

constexpr double kMB = 1024.0 * 1024.0;

mesos::v1::Resource scalar(const std::string& name, double value) {
  mesos::v1::Resource resource;
  resource.set_name(name);
  resource.set_type(mesos::v1::Value::SCALAR);
  resource.mutable_scalar()->set_value(std::floor(value));
  return resource;
}

double detectMemoryMB() {
  const double total = static_cast<double>(::sysconf(_SC_PHYS_PAGES)) * static_cast<double>(::sysconf(_SC_PAGESIZE));
  const double gb = 1024.0 * kMB;
  const double kept = total >= 2 * gb ? gb : total / 2;
  return (total - kept) / kMB;
}

double detectDiskMB(const std::string& workDir) {
  std::error_code ec;
  std::filesystem::path path = workDir;
  while (!path.empty() && !std::filesystem::exists(path, ec)) path = path.parent_path();
  struct statvfs fs;
  if (::statvfs(path.empty() ? "/" : path.c_str(), &fs) != 0) return 0;
  const double total = static_cast<double>(fs.f_blocks) * static_cast<double>(fs.f_frsize);
  const double gb = 1024.0 * kMB;
  const double kept = total >= 10 * gb ? 5 * gb : total / 2;
  return (total - kept) / kMB;
}

Result<std::vector<mesos::v1::Resource>> parseFlag(const std::string& flag) {
  std::vector<mesos::v1::Resource> out;
  std::size_t first = flag.find_first_not_of(" \t\n");
  if (first != std::string::npos && flag[first] == '[') {
    // A JSON array of Resource objects: parse it as AgentInfo.resources.
    mesos::v1::AgentInfo holder;
    Status parsed = wire::fromJson("{\"hostname\":\"-\",\"resources\":" + flag + "}", &holder);
    if (!parsed.ok()) return parsed.error().withContext("--resources");
    auto checked = resources::Resources::from(holder.resources());
    if (!checked.ok()) return checked.error().withContext("--resources");
    return checked->items();
  }
  auto parsed = resources::Resources::parse(flag);
  if (!parsed.ok()) return parsed.error().withContext("--resources");
  return parsed->items();
}

}  // namespace

Result<std::vector<mesos::v1::Resource>> agentResources(const std::string& flag, const std::string& workDir) {
  std::vector<mesos::v1::Resource> given;
  if (!flag.empty()) {
    auto parsed = parseFlag(flag);
    if (!parsed.ok()) return parsed.error();
    given = *parsed;
  }
  std::set<std::string> named;
  for (const auto& resource : given) named.insert(resource.name());
  std::vector<mesos::v1::Resource> out;
  if (!named.count("cpus")) {
    out.push_back(scalar("cpus", std::max(1u, std::thread::hardware_concurrency())));
  }
  if (!named.count("mem")) out.push_back(scalar("mem", detectMemoryMB()));
  if (!named.count("disk")) out.push_back(scalar("disk", detectDiskMB(workDir)));
  if (!named.count("ports")) {
    mesos::v1::Resource ports;
    ports.set_name("ports");
    ports.set_type(mesos::v1::Value::RANGES);
    auto* range = ports.mutable_ranges()->add_range();
    range->set_begin(31000);
    range->set_end(32000);
    out.push_back(ports);
  }
  out.insert(out.end(), given.begin(), given.end());
  return out;
}

Result<std::vector<mesos::v1::Attribute>> parseAttributes(const std::string& text) {
  std::vector<mesos::v1::Attribute> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(';', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    start = end + 1;
    if (item.find_first_not_of(" \t") == std::string::npos) {
      if (end == text.size()) break;
      continue;
    }
    std::size_t colon = item.find(':');
    if (colon == std::string::npos || colon == 0) {
      return invalidArgument("--attributes: '" + item + "' is not name:value");
    }
    mesos::v1::Attribute attribute;
    attribute.set_name(item.substr(0, colon));
    std::string value = item.substr(colon + 1);
    if (!value.empty() && value.front() == '[' && value.back() == ']') {
      attribute.set_type(mesos::v1::Value::RANGES);
      std::string inner = value.substr(1, value.size() - 2);
      std::size_t at = 0;
      while (at < inner.size()) {
        std::size_t comma = inner.find(',', at);
        if (comma == std::string::npos) comma = inner.size();
        std::string range = inner.substr(at, comma - at);
        at = comma + 1;
        std::size_t dash = range.find('-');
        try {
          auto* r = attribute.mutable_ranges()->add_range();
          r->set_begin(std::stoull(range.substr(0, dash)));
          r->set_end(dash == std::string::npos ? r->begin() : std::stoull(range.substr(dash + 1)));
        } catch (const std::exception&) {
          return invalidArgument("--attributes: bad range '" + range + "' in " + attribute.name());
        }
      }
    } else if (!value.empty() && value.front() == '{' && value.back() == '}') {
      attribute.set_type(mesos::v1::Value::SET);
      std::string inner = value.substr(1, value.size() - 2);
      std::size_t at = 0;
      while (at <= inner.size() && !inner.empty()) {
        std::size_t comma = inner.find(',', at);
        if (comma == std::string::npos) comma = inner.size();
        attribute.mutable_set()->add_item(inner.substr(at, comma - at));
        at = comma + 1;
      }
    } else {
      char* endp = nullptr;
      double number = std::strtod(value.c_str(), &endp);
      if (!value.empty() && endp != nullptr && *endp == '\0') {
        attribute.set_type(mesos::v1::Value::SCALAR);
        attribute.mutable_scalar()->set_value(number);
      } else {
        attribute.set_type(mesos::v1::Value::TEXT);
        attribute.mutable_text()->set_value(value);
      }
    }
    out.push_back(std::move(attribute));
    if (end == text.size()) break;
  }
  return out;
}

}  // namespace mantle::agent
