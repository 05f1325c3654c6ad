// The records mantle-dns serves, computed from the operator stream's cluster
// state with Mesos-DNS's naming (docs/DNS.md):
//   <task>.<framework>.<domain>          A    container IP, else agent IP
//   <task>.<framework>.slave.<domain>    A    agent IP
//   _<task>._<proto>.<framework>.<domain> SRV  one per task port, target
//                                               <task>-<id>.<framework>.slave.<domain>
//   leader.<domain>, master.<domain>     A    the leading master
//   _leader._tcp|_udp.<domain>           SRV  the leading master's port
//   <framework>.<domain>                 A    the scheduler's host
//   slave.<domain>                       A    every agent
// plus the domain's SOA and NS. Names are lowercase with a trailing dot.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "operator_stream/cluster_state.hpp"

namespace mantle::dns {

struct Record {
  std::string type;   // "A", "SRV", "SOA", "NS"
  std::string rdata;  // presentation form: "10.0.0.5", "0 1 31000 web-ab12c.marathon.slave.mesos."
  bool operator==(const Record&) const = default;
};

// A host name or IP literal to an IPv4 address (nullopt: none).
using HostResolver = std::function<std::optional<std::string>(const std::string& host)>;

// A DNS label from a task or framework name as Mesos-DNS makes it: lowercase,
// each character other than a-z, 0-9 and '-' becomes '-', no leading or
// trailing '-', at most 63 characters. Empty when nothing remains.
std::string toLabel(const std::string& name);

class Zone {
 public:
  Zone() = default;
  // `domain` without dots at either end ("mesos", "cluster.example").
  static Zone build(const operator_stream::ClusterState& state, const std::string& domain,
                    const HostResolver& resolve = operator_stream::resolveIpv4);

  // The records of `name` (lowercase, trailing dot); nullptr: no such name.
  const std::vector<Record>* find(const std::string& name) const;
  // Whether `name` lies in the zone's domain (the domain itself included).
  bool contains(const std::string& name) const;
  const std::string& origin() const { return origin_; }  // "<domain>."
  // The SOA record's rdata (for negative answers).
  std::string soa() const;
  std::size_t size() const { return records_.size(); }

 private:
  void add(const std::string& name, Record record);

  std::string origin_ = ".";
  std::map<std::string, std::vector<Record>> records_;
};

}  // namespace mantle::dns
