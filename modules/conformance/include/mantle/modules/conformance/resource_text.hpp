// Mesos' resource text syntax for tests and benchmarks:
//   "cpus:24;mem:4096;disk:4096;ports:[31000-32000];zones:{a,b};cpus(eng):4"
// A role in parentheses makes a static reservation for that role. Header-only.
#pragma once

#include <cstdlib>
#include <stdexcept>
#include <string>

#include "mantle/module/v1/mesos.pb.h"

namespace mantle::modules::conformance {

namespace v1 = ::mantle::module::v1;

using ResourceList = google::protobuf::RepeatedPtrField<v1::Resource>;

inline ResourceList parseResources(const std::string& text) {
  ResourceList out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find(';', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    start = end + 1;
    if (item.empty()) continue;
    std::size_t colon = item.find(':');
    if (colon == std::string::npos) throw std::invalid_argument("no ':' in resource '" + item + "'");
    std::string name = item.substr(0, colon);
    std::string value = item.substr(colon + 1);
    v1::Resource* r = out.Add();
    std::size_t paren = name.find('(');
    if (paren != std::string::npos) {
      std::string role = name.substr(paren + 1, name.size() - paren - 2);
      name = name.substr(0, paren);
      if (role != "*") {
        v1::Resource::ReservationInfo* reservation = r->add_reservations();
        reservation->set_type(v1::Resource::ReservationInfo::STATIC);
        reservation->set_role(role);
      }
    }
    r->set_name(name);
    if (!value.empty() && value.front() == '[') {
      r->set_type(v1::Value::RANGES);
      std::string body = value.substr(1, value.size() - 2);
      std::size_t p = 0;
      r->mutable_ranges();
      while (p < body.size()) {
        std::size_t q = body.find(',', p);
        if (q == std::string::npos) q = body.size();
        std::string range = body.substr(p, q - p);
        std::size_t dash = range.find('-');
        v1::Value::Range* x = r->mutable_ranges()->add_range();
        x->set_begin(std::strtoull(range.substr(0, dash).c_str(), nullptr, 10));
        x->set_end(std::strtoull(range.substr(dash + 1).c_str(), nullptr, 10));
        p = q + 1;
      }
    } else if (!value.empty() && value.front() == '{') {
      r->set_type(v1::Value::SET);
      std::string body = value.substr(1, value.size() - 2);
      std::size_t p = 0;
      r->mutable_set();
      while (p < body.size()) {
        std::size_t q = body.find(',', p);
        if (q == std::string::npos) q = body.size();
        r->mutable_set()->add_item(body.substr(p, q - p));
        p = q + 1;
      }
    } else {
      r->set_type(v1::Value::SCALAR);
      r->mutable_scalar()->set_value(std::strtod(value.c_str(), nullptr));
    }
  }
  return out;
}

// The sum of scalar `name` over `resources`.
template <class List>
double scalarSum(const List& resources, const std::string& name) {
  double sum = 0;
  for (const v1::Resource& r : resources) {
    if (r.name() == name && r.type() == v1::Value::SCALAR) sum += r.scalar().value();
  }
  return sum;
}

}  // namespace mantle::modules::conformance
