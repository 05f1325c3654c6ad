// The legacy JSON endpoints (/master/state, /state-summary, /frameworks,
// /slaves, /tasks, /roles, /flags, /version, /metrics/snapshot) and the
// Prometheus text at /metrics, rendered from a snapshot on an HTTP thread.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>

#include <json/json.h>

#include "mantle/modules/metrics.hpp"
#include "master/master_impl.hpp"
#include "master/validation.hpp"
#include "wire/json.hpp"

namespace mantle::master {

namespace {

using Response = v1::master::Response;

std::string write(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  builder["emitUTF8"] = true;
  return Json::writeString(builder, value);
}

// A message in Mesos' JSON mapping, as a jsoncpp value.
Json::Value protoJson(const google::protobuf::Message& message) {
  Json::Value value;
  Json::CharReaderBuilder builder;
  std::string text = wire::toJson(message);
  std::unique_ptr<Json::CharReader> reader(builder.newCharReader());
  std::string errors;
  reader->parse(text.data(), text.data() + text.size(), &value, &errors);
  return value;
}

double seconds(const v1::TimeInfo& t) {
  return static_cast<double>(t.nanoseconds()) / 1e9;
}

std::string rangesText(const v1::Value::Ranges& ranges) {
  std::string out = "[";
  for (int i = 0; i < ranges.range_size(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(ranges.range(i).begin()) + "-" + std::to_string(ranges.range(i).end());
  }
  return out + "]";
}

// Mesos' legacy rendering of resources: an object keyed by name.
Json::Value resourcesJson(const google::protobuf::RepeatedPtrField<v1::Resource>& list) {
  Json::Value out(Json::objectValue);
  for (const char* name : {"cpus", "gpus", "mem", "disk"}) out[name] = 0.0;
  std::map<std::string, v1::Value::Ranges> ranges;
  std::map<std::string, std::set<std::string>> sets;
  for (const v1::Resource& r : list) {
    std::string name = r.name() + (r.has_revocable() ? "_revocable" : "");
    if (r.type() == v1::Value::SCALAR) {
      double v = out.isMember(name) ? out[name].asDouble() : 0.0;
      out[name] = std::round((v + r.scalar().value()) * 1000) / 1000;
    } else if (r.type() == v1::Value::RANGES) {
      for (const auto& range : r.ranges().range()) *ranges[name].add_range() = range;
    } else if (r.type() == v1::Value::SET) {
      for (const auto& item : r.set().item()) sets[name].insert(item);
    }
  }
  for (auto& [name, value] : ranges) {
    std::sort(value.mutable_range()->begin(), value.mutable_range()->end(),
              [](const auto& a, const auto& b) { return a.begin() < b.begin(); });
    out[name] = rangesText(value);
  }
  for (auto& [name, items] : sets) {
    std::string text = "{";
    bool first = true;
    for (const std::string& item : items) {
      if (!first) text += ",";
      first = false;
      text += item;
    }
    out[name] = text + "}";
  }
  return out;
}

Json::Value attributesJson(const google::protobuf::RepeatedPtrField<v1::Attribute>& attributes) {
  Json::Value out(Json::objectValue);
  for (const v1::Attribute& a : attributes) {
    switch (a.type()) {
      case v1::Value::SCALAR: out[a.name()] = a.scalar().value(); break;
      case v1::Value::RANGES: out[a.name()] = rangesText(a.ranges()); break;
      case v1::Value::TEXT: out[a.name()] = a.text().value(); break;
      case v1::Value::SET: {
        std::string text = "{";
        for (int i = 0; i < a.set().item_size(); ++i) text += (i > 0 ? "," : "") + a.set().item(i);
        out[a.name()] = text + "}";
        break;
      }
    }
  }
  return out;
}

std::string roleOf(const google::protobuf::RepeatedPtrField<v1::Resource>& resources) {
  for (const v1::Resource& r : resources) {
    if (r.has_allocation_info()) return r.allocation_info().role();
  }
  return "*";
}

Json::Value taskJson(const v1::Task& task) {
  Json::Value t(Json::objectValue);
  t["id"] = task.task_id().value();
  t["name"] = task.name();
  t["framework_id"] = task.framework_id().value();
  t["executor_id"] = task.executor_id().value();
  t["slave_id"] = task.agent_id().value();
  t["state"] = v1::TaskState_Name(task.state());
  t["resources"] = resourcesJson(task.resources());
  t["role"] = roleOf(task.resources());
  Json::Value statuses(Json::arrayValue);
  for (const v1::TaskStatus& status : task.statuses()) {
    Json::Value s(Json::objectValue);
    s["state"] = v1::TaskState_Name(status.state());
    s["timestamp"] = status.timestamp();
    if (status.has_healthy()) s["healthy"] = status.healthy();
    if (status.has_container_status()) s["container_status"] = protoJson(status.container_status());
    if (status.has_labels()) s["labels"] = protoJson(status.labels())["labels"];
    statuses.append(s);
  }
  t["statuses"] = statuses;
  if (task.has_user()) t["user"] = task.user();
  if (task.has_labels()) t["labels"] = protoJson(task.labels())["labels"];
  if (task.has_discovery()) t["discovery"] = protoJson(task.discovery());
  if (task.has_container()) t["container"] = protoJson(task.container());
  if (task.has_health_check()) t["health_check"] = protoJson(task.health_check());
  return t;
}

}  // namespace

std::string legacyTaskJson(const v1::Task& task) {
  return write(taskJson(task));
}

namespace {

Json::Value capabilitiesJson(const v1::FrameworkInfo& info) {
  Json::Value out(Json::arrayValue);
  for (const auto& c : info.capabilities()) out.append(v1::FrameworkInfo::Capability::Type_Name(c.type()));
  return out;
}

// The tasks of a snapshot by framework id, as GetTasks lists them.
struct TaskIndex {
  using Lists = std::map<std::string, std::vector<const TaskPiece*>>;
  Lists active, completed, unreachable;
};

TaskIndex indexTasks(const Snapshot& s) {
  TaskIndex index;
  auto add = [](const std::vector<TaskRun>& runs, TaskIndex::Lists* to) {
    for (const TaskRun& run : runs) {
      for (const TaskPiecePtr& piece : run.list->pieces()) {
        if (run.shows(*piece)) (*to)[piece->task().framework_id().value()].push_back(piece.get());
      }
    }
  };
  add(s.tasks, &index.active);
  add(s.completedTasks, &index.completed);
  add(s.unreachableTasks, &index.unreachable);
  return index;
}

// Arrays spliced into a written document: each stands in the value tree as
// a string naming it (with a nonce no data can contain) and is replaced by
// its elements' renderings, made once per task or agent (TaskPiece,
// AgentPiece).
class Splices {
 public:
  Splices() {
    std::random_device random;
    char text[40];
    std::snprintf(text, sizeof(text), "\"@@splice-%08x%08x%08x-", random(), random(), random());
    prefix_ = text;
  }

  template <typename Pieces>
  Json::Value placeholder(const Pieces& pieces) {
    std::vector<const std::string*>& fragments = arrays_.emplace_back();
    fragments.reserve(pieces.size());
    for (const auto& piece : pieces) fragments.push_back(&piece->legacyJson());
    // The prefix without its quote, the array's index and a closing mark.
    return Json::Value(prefix_.substr(1) + std::to_string(arrays_.size() - 1) + "@@");
  }

  // `text` with every placeholder (quotes included) replaced, borrowing
  // the pieces' renderings (`snapshot` keeps them alive).
  http::Body apply(std::string text, const Snapshot& snapshot) const {
    http::Body out;
    keepPieces(snapshot, &out);
    auto document = std::make_shared<const std::string>(std::move(text));
    out.keep(document);
    const std::string_view all = *document;
    std::size_t from = 0;
    for (std::size_t at = all.find(prefix_); at != std::string::npos; at = all.find(prefix_, from)) {
      out.borrow(all.substr(from, at - from));
      const std::size_t number = at + prefix_.size();
      const std::size_t end = all.find("@@\"", number);
      const auto& fragments = arrays_.at(std::stoul(document->substr(number, end - number)));
      out.copy("[");
      for (std::size_t i = 0; i < fragments.size(); ++i) {
        if (i > 0) out.copy(",");
        out.borrow(*fragments[i]);
      }
      out.copy("]");
      from = end + 3;
    }
    out.borrow(all.substr(from));
    return out;
  }

 private:
  std::string prefix_;
  std::vector<std::vector<const std::string*>> arrays_;
};

// `offers`: the framework's; `splices`: where the task and offer arrays go
// (none for the summary, which counts the tasks).
Json::Value frameworkJson(const Response::GetFrameworks::Framework& f, const std::vector<OfferPiecePtr>& offers,
                          const Snapshot& snapshot, const TaskIndex& index, Splices* splices) {
  static const std::vector<const TaskPiece*> kNone;
  const v1::FrameworkInfo& info = f.framework_info();
  const std::string& id = info.id().value();
  Json::Value out(Json::objectValue);
  out["id"] = id;
  out["name"] = info.name();
  out["hostname"] = info.hostname();
  out["webui_url"] = info.webui_url();
  out["active"] = f.active();
  out["connected"] = f.connected();
  out["recovered"] = f.recovered();
  out["user"] = info.user();
  out["failover_timeout"] = info.failover_timeout();
  out["checkpoint"] = info.checkpoint();
  out["capabilities"] = capabilitiesJson(info);
  if (info.has_principal()) out["principal"] = info.principal();
  out["registered_time"] = seconds(f.registered_time());
  out["unregistered_time"] = f.has_unregistered_time() ? seconds(f.unregistered_time()) : 0.0;
  if (f.has_reregistered_time()) out["reregistered_time"] = seconds(f.reregistered_time());
  if (hasCapability(info, v1::FrameworkInfo::Capability::MULTI_ROLE)) {
    Json::Value roles(Json::arrayValue);
    for (const std::string& r : info.roles()) roles.append(r);
    out["roles"] = roles;
  } else {
    out["role"] = info.has_role() ? info.role() : "*";
  }
  out["used_resources"] = resourcesJson(f.allocated_resources());
  out["offered_resources"] = resourcesJson(f.offered_resources());
  google::protobuf::RepeatedPtrField<v1::Resource> all = f.allocated_resources();
  for (const auto& r : f.offered_resources()) *all.Add() = r;
  out["resources"] = resourcesJson(all);
  if (info.has_labels()) out["labels"] = protoJson(info.labels())["labels"];
  auto list = [&](const TaskIndex::Lists& m) {
    auto it = m.find(id);
    return splices->placeholder(it == m.end() ? kNone : it->second);
  };
  if (splices == nullptr) {
    std::map<std::string, int> counts;
    std::set<std::string> agents;
    for (const auto* m : {&index.active, &index.completed, &index.unreachable}) {
      auto it = m->find(id);
      if (it == m->end()) continue;
      for (const TaskPiece* t : it->second) {
        counts[v1::TaskState_Name(t->task().state())]++;
        if (m == &index.active) agents.insert(t->task().agent_id().value());
      }
    }
    for (const char* state : {"TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING", "TASK_FINISHED",
                              "TASK_KILLED", "TASK_FAILED", "TASK_LOST", "TASK_ERROR", "TASK_UNREACHABLE"}) {
      out[state] = counts[state];
    }
    Json::Value ids(Json::arrayValue);
    for (const std::string& a : agents) ids.append(a);
    out["slave_ids"] = ids;
    return out;
  }
  out["tasks"] = list(index.active);
  out["completed_tasks"] = list(index.completed);
  out["unreachable_tasks"] = list(index.unreachable);
  out["offers"] = splices->placeholder(offers);
  Json::Value executors(Json::arrayValue);
  for (const auto& e : snapshot.executors.executors()) {
    if (e.executor_info().framework_id().value() != id) continue;
    Json::Value x = protoJson(e.executor_info());
    x["slave_id"] = e.agent_id().value();
    executors.append(x);
  }
  out["executors"] = executors;
  return out;
}

Json::Value offerJson(const v1::Offer& o) {
  Json::Value offer(Json::objectValue);
  offer["id"] = o.id().value();
  offer["framework_id"] = o.framework_id().value();
  offer["slave_id"] = o.agent_id().value();
  offer["allocation_info"] = protoJson(o.allocation_info());
  offer["resources"] = resourcesJson(o.resources());
  return offer;
}

Json::Value agentJson(const Response::GetAgents::Agent& a) {
  Json::Value out(Json::objectValue);
  out["id"] = a.agent_info().id().value();
  out["hostname"] = a.agent_info().hostname();
  out["port"] = a.agent_info().port();
  out["attributes"] = attributesJson(a.agent_info().attributes());
  out["pid"] = a.pid();
  out["registered_time"] = seconds(a.registered_time());
  if (a.has_reregistered_time()) out["reregistered_time"] = seconds(a.reregistered_time());
  out["resources"] = resourcesJson(a.total_resources());
  out["used_resources"] = resourcesJson(a.allocated_resources());
  out["offered_resources"] = resourcesJson(a.offered_resources());
  std::map<std::string, google::protobuf::RepeatedPtrField<v1::Resource>> reserved;
  google::protobuf::RepeatedPtrField<v1::Resource> unreserved;
  for (const v1::Resource& r : a.total_resources()) {
    if (r.reservations_size() > 0) {
      *reserved[r.reservations(r.reservations_size() - 1).role()].Add() = r;
    } else {
      *unreserved.Add() = r;
    }
  }
  Json::Value reservedJson(Json::objectValue);
  for (const auto& [role, list] : reserved) reservedJson[role] = resourcesJson(list);
  out["reserved_resources"] = reservedJson;
  out["unreserved_resources"] = resourcesJson(unreserved);
  out["active"] = a.active();
  out["deactivated"] = a.deactivated();
  out["version"] = a.version();
  Json::Value caps(Json::arrayValue);
  for (const auto& c : a.capabilities()) caps.append(v1::AgentInfo::Capability::Type_Name(c.type()));
  out["capabilities"] = caps;
  if (a.has_drain_info()) out["drain_info"] = protoJson(a.drain_info());
  return out;
}

}  // namespace

std::string legacyAgentJson(const Response::GetAgents::Agent& agent) {
  return write(agentJson(agent));
}

std::string legacyOfferJson(const v1::Offer& offer) {
  return write(offerJson(offer));
}

namespace {

Json::Value flagsJson(const std::vector<std::pair<std::string, std::string>>& flags) {
  Json::Value out(Json::objectValue);
  for (const auto& [name, value] : flags) out[name] = value;
  return out;
}

}  // namespace

std::string renderVersion() {
  Json::Value out(Json::objectValue);
  out["version"] = kVersion;
  out["build_date"] = __DATE__;
  out["build_time"] = 0.0;
  out["build_user"] = "";
  return write(out);
}

std::string renderFlags(const std::vector<std::pair<std::string, std::string>>& flags) {
  Json::Value out(Json::objectValue);
  out["flags"] = flagsJson(flags);
  return write(out);
}

namespace {

// The live and the completed frameworks, their arrays spliced.
void appendFrameworks(const Snapshot& s, const TaskIndex& index, Splices* splices, Json::Value* frameworks,
                      Json::Value* completed) {
  for (int i = 0; i < s.frameworks.frameworks_size(); ++i) {
    frameworks->append(
        frameworkJson(s.frameworks.frameworks(i), *s.offers[static_cast<std::size_t>(i)], s, index, splices));
  }
  for (const auto& f : s.frameworks.completed_frameworks()) completed->append(frameworkJson(f, {}, s, index, splices));
}

}  // namespace

http::Body renderState(const Snapshot& s) {
  Json::Value out(Json::objectValue);
  out["version"] = kVersion;
  out["build_date"] = __DATE__;
  out["build_time"] = 0.0;
  out["build_user"] = "";
  out["start_time"] = s.startTime;
  out["elected_time"] = s.electedTime;
  out["id"] = s.masterInfo.id();
  out["pid"] = s.masterInfo.pid();
  out["hostname"] = s.masterInfo.hostname();
  out["leader"] = s.masterInfo.pid();
  out["leader_info"] = protoJson(s.masterInfo);
  Json::Value caps(Json::arrayValue);
  for (const auto& c : s.masterInfo.capabilities()) caps.append(v1::MasterInfo::Capability::Type_Name(c.type()));
  out["capabilities"] = caps;
  if (!s.cluster.empty()) out["cluster"] = s.cluster;
  out["flags"] = flagsJson(s.flags);
  Splices splices;
  int activated = 0, deactivated = 0;
  for (const AgentPiecePtr& a : s.agentList) (a->agent().active() ? activated : deactivated)++;
  out["activated_slaves"] = activated;
  out["deactivated_slaves"] = deactivated;
  out["unreachable_slaves"] = 0;
  out["slaves"] = splices.placeholder(s.agentList);
  Json::Value recovered(Json::arrayValue);
  for (const auto& info : s.recoveredAgents) recovered.append(protoJson(info));
  out["recovered_slaves"] = recovered;
  TaskIndex index = indexTasks(s);
  Json::Value frameworks(Json::arrayValue), completed(Json::arrayValue);
  appendFrameworks(s, index, &splices, &frameworks, &completed);
  out["frameworks"] = frameworks;
  out["completed_frameworks"] = completed;
  out["orphan_tasks"] = Json::Value(Json::arrayValue);
  out["unregistered_frameworks"] = Json::Value(Json::arrayValue);
  return splices.apply(write(out), s);
}

std::string renderStateSummary(const Snapshot& s) {
  Json::Value out(Json::objectValue);
  out["hostname"] = s.masterInfo.hostname();
  if (!s.cluster.empty()) out["cluster"] = s.cluster;
  TaskIndex index = indexTasks(s);
  // By agent id: tasks by state, and the frameworks of its live tasks.
  std::map<std::string, std::map<std::string, int>> counts;
  std::map<std::string, std::set<std::string>> frameworkIds;
  for (const auto* lists : {&index.active, &index.completed}) {
    for (const auto& [frameworkId, tasks] : *lists) {
      for (const TaskPiece* t : tasks) {
        const std::string& agentId = t->task().agent_id().value();
        counts[agentId][v1::TaskState_Name(t->task().state())]++;
        if (lists == &index.active) frameworkIds[agentId].insert(frameworkId);
      }
    }
  }
  Json::Value slaves(Json::arrayValue);
  for (const AgentPiecePtr& piece : s.agentList) {
    const Response::GetAgents::Agent& a = piece->agent();
    Json::Value slave = agentJson(a);
    const std::string& id = a.agent_info().id().value();
    for (const char* state : {"TASK_STAGING", "TASK_STARTING", "TASK_RUNNING", "TASK_KILLING", "TASK_FINISHED",
                              "TASK_KILLED", "TASK_FAILED", "TASK_LOST", "TASK_ERROR", "TASK_UNREACHABLE"}) {
      slave[state] = counts[id][state];
    }
    Json::Value ids(Json::arrayValue);
    for (const std::string& f : frameworkIds[id]) ids.append(f);
    slave["framework_ids"] = ids;
    slaves.append(slave);
  }
  out["slaves"] = slaves;
  Json::Value frameworks(Json::arrayValue);
  for (const auto& f : s.frameworks.frameworks()) frameworks.append(frameworkJson(f, {}, s, index, nullptr));
  out["frameworks"] = frameworks;
  return write(out);
}

http::Body renderFrameworks(const Snapshot& s) {
  Json::Value out(Json::objectValue);
  TaskIndex index = indexTasks(s);
  Splices splices;
  Json::Value frameworks(Json::arrayValue), completed(Json::arrayValue);
  appendFrameworks(s, index, &splices, &frameworks, &completed);
  out["frameworks"] = frameworks;
  out["completed_frameworks"] = completed;
  out["unregistered_frameworks"] = Json::Value(Json::arrayValue);
  return splices.apply(write(out), s);
}

http::Body renderSlaves(const Snapshot& s) {
  Json::Value out(Json::objectValue);
  Splices splices;
  out["slaves"] = splices.placeholder(s.agentList);
  Json::Value recovered(Json::arrayValue);
  for (const auto& info : s.recoveredAgents) recovered.append(protoJson(info));
  out["recovered_slaves"] = recovered;
  return splices.apply(write(out), s);
}

http::Body renderTasks(const Snapshot& s, std::size_t limit, std::size_t offset, bool ascending) {
  std::vector<const TaskPiece*> tasks;
  for (const auto* runs : {&s.tasks, &s.unreachableTasks, &s.completedTasks}) {
    for (const TaskRun& run : *runs) {
      for (const TaskPiecePtr& piece : run.list->pieces()) {
        if (run.shows(*piece)) tasks.push_back(piece.get());
      }
    }
  }
  auto firstTime = [](const TaskPiece* t) {
    return t->task().statuses_size() > 0 ? t->task().statuses(0).timestamp() : 0.0;
  };
  std::stable_sort(tasks.begin(), tasks.end(), [&](const TaskPiece* a, const TaskPiece* b) {
    return ascending ? firstTime(a) < firstTime(b) : firstTime(a) > firstTime(b);
  });
  std::vector<const TaskPiece*> page;
  for (std::size_t i = offset; i < tasks.size() && i < offset + limit; ++i) page.push_back(tasks[i]);
  Splices splices;
  Json::Value out(Json::objectValue);
  out["tasks"] = splices.placeholder(page);
  return splices.apply(write(out), s);
}

std::string renderRoles(const Snapshot& s) {
  Json::Value out(Json::objectValue);
  Json::Value roles(Json::arrayValue);
  for (const v1::Role& role : s.roles) {
    Json::Value r(Json::objectValue);
    r["name"] = role.name();
    r["weight"] = role.weight();
    Json::Value frameworks(Json::arrayValue);
    for (const auto& f : role.frameworks()) frameworks.append(f.value());
    r["frameworks"] = frameworks;
    r["resources"] = resourcesJson(role.resources());
    r["allocated"] = resourcesJson(role.resources());
    for (const auto& q : s.quotas) {
      if (q.role() != role.name()) continue;
      Json::Value quota(Json::objectValue);
      quota["role"] = q.role();
      Json::Value guarantee(Json::objectValue), limit(Json::objectValue);
      for (const auto& [name, v] : q.guarantees()) guarantee[name] = v.value();
      for (const auto& [name, v] : q.limits()) limit[name] = v.value();
      quota["guarantee"] = guarantee;
      quota["limit"] = limit;
      r["quota"] = quota;
    }
    roles.append(r);
  }
  out["roles"] = roles;
  return write(out);
}

std::string renderMetricsJson(const std::map<std::string, double>& metrics) {
  Json::Value out(Json::objectValue);
  for (const auto& [name, value] : metrics) out[name] = value;
  return write(out);
}

std::string renderPrometheus(const std::map<std::string, double>& metrics,
                             const std::vector<modules::InstanceMetrics>& instances) {
  prometheus::TextWriter out;
  for (const auto& [name, value] : metrics) out.single(prometheus::metricName("mantle_" + name), "gauge", value);
  modules::writePrometheus(instances, out);
  return out.text();
}

}  // namespace mantle::master
