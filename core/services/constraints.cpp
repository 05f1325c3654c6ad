#include "services/constraints.hpp"

#include <algorithm>
#include <regex>
#include <set>
#include <sstream>

namespace mantle::services {

namespace {

std::string scalarText(double value) {
  std::ostringstream out;
  out << value;
  return out.str();
}

std::string attributeText(const mesos::v1::Attribute& attribute) {
  switch (attribute.type()) {
    case mesos::v1::Value::SCALAR: return scalarText(attribute.scalar().value());
    case mesos::v1::Value::RANGES: {
      std::string text = "[";
      for (int i = 0; i < attribute.ranges().range_size(); ++i) {
        if (i > 0) text += ",";
        text += std::to_string(attribute.ranges().range(i).begin()) + "-" +
                std::to_string(attribute.ranges().range(i).end());
      }
      return text + "]";
    }
    case mesos::v1::Value::SET: {
      std::string text = "{";
      for (int i = 0; i < attribute.set().item_size(); ++i) text += (i > 0 ? "," : "") + attribute.set().item(i);
      return text + "}";
    }
    default: return attribute.text().value();
  }
}

}  // namespace

Placement placementOf(const mesos::v1::Offer& offer) {
  Placement placement;
  placement["hostname"] = offer.hostname();
  for (const auto& attribute : offer.attributes()) placement[attribute.name()] = attributeText(attribute);
  return placement;
}

bool meetsConstraints(const std::vector<std::vector<std::string>>& constraints, const Placement& offer,
                      const std::vector<Placement>& placed, std::string* why) {
  for (const auto& constraint : constraints) {
    const std::string& field = constraint[0];
    const std::string& op = constraint[1];
    const std::string value = constraint.size() > 2 ? constraint[2] : "";
    const auto here = offer.find(field);
    const std::string text = "[" + field + ", " + op + (value.empty() ? "" : ", " + value) + "]";
    if (here == offer.end()) {
      // Only UNLIKE holds for an agent without the attribute.
      if (op == "UNLIKE") continue;
      *why = text + ": the agent has no " + field;
      return false;
    }
    // How many of the app's tasks run with each value of the field.
    std::map<std::string, int> counts;
    for (const Placement& task : placed) {
      auto it = task.find(field);
      if (it != task.end()) ++counts[it->second];
    }
    const int sameValue = counts.count(here->second) != 0 ? counts[here->second] : 0;
    bool ok = true;
    if (op == "UNIQUE") {
      ok = sameValue == 0;
    } else if (op == "CLUSTER") {
      // Without a value: wherever the first task went.
      ok = !value.empty() ? here->second == value : counts.empty() || sameValue > 0;
    } else if (op == "LIKE") {
      ok = std::regex_match(here->second, std::regex(value));
    } else if (op == "UNLIKE") {
      ok = !std::regex_match(here->second, std::regex(value));
    } else if (op == "MAX_PER") {
      ok = sameValue < std::stoi(value);
    } else if (op == "GROUP_BY") {
      // Spread evenly: this value may take a task when no other known value
      // has fewer; with an expected number of values, unseen ones count as 0.
      const std::size_t expected = value.empty() ? 0 : static_cast<std::size_t>(std::stoi(value));
      int fewest = sameValue;
      for (const auto& [other, count] : counts) fewest = std::min(fewest, count);
      std::set<std::string> seen;
      for (const auto& [other, count] : counts) seen.insert(other);
      seen.insert(here->second);
      if (seen.size() < expected) fewest = 0;
      ok = sameValue <= fewest;
    }
    if (!ok) {
      *why = text + " not met on " + field + "=" + here->second;
      return false;
    }
  }
  return true;
}

}  // namespace mantle::services
