#include "master/state_snapshot.hpp"

#include <algorithm>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/wire_format_lite.h>

#include <glog/logging.h>

#include "master/validation.hpp"
#include "wire/json.hpp"
#include "wire/task_state.hpp"

namespace mantle::master {

namespace v1 = ::mesos::v1;
using resources::Resources;
using Response = v1::master::Response;

namespace {

bool byId(const TaskPiecePtr& piece, const std::string& id) {
  return piece->id() < id;
}

std::string serialize(const google::protobuf::Message& message) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  return out;
}

Resources taskResources(const v1::Task& task) {
  Result<Resources> r = Resources::from(task.resources());
  return r.ok() ? *r : Resources();
}

}  // namespace

// ---------------------------------------------------------------------------
// Pieces

TaskPiece::TaskPiece(v1::Task task) : task_(std::move(task)), terminal_(wire::isTerminal(task_.state())) {}

const std::string& TaskPiece::legacyJson() const {
  return legacyJson_.get([&] { return legacyTaskJson(task_); });
}

const std::string& TaskPiece::json() const {
  return json_.get([&] { return wire::toJson(task_); });
}

const std::string& TaskPiece::bytes() const {
  return bytes_.get([&] { return serialize(task_); });
}

const TaskSums& TaskList::sums() const {
  return sums_.get([&] {
    TaskSums sums;
    for (const TaskPiecePtr& piece : pieces_) {
      if (piece->terminal()) continue;
      const Resources resources = taskResources(piece->task());
      sums.total += resources;
      sums.byAgent[piece->task().agent_id().value()] += resources;
      for (const v1::Resource& r : piece->task().resources()) {
        if (r.has_allocation_info()) sums.byRole[r.allocation_info().role()].add(r);
      }
    }
    return sums;
  });
}

const std::string& OfferPiece::legacyJson() const {
  return legacyJson_.get([&] { return legacyOfferJson(offer_); });
}

const std::string& OfferPiece::json() const {
  return json_.get([&] { return wire::toJson(offer_); });
}

const std::string& OfferPiece::bytes() const {
  return bytes_.get([&] { return serialize(offer_); });
}

AgentPiece::AgentPiece(Response::GetAgents::Agent agent, AgentRecordPtr record, Resources allocated, Resources offered)
    : agent_(std::move(agent)),
      record_(std::move(record)),
      allocated_(std::move(allocated)),
      offered_(std::move(offered)),
      bytes_(serialize(agent_)) {}

const std::string& AgentPiece::legacyJson() const {
  return legacyJson_.get([&] { return legacyAgentJson(agent_); });
}

const std::string& AgentPiece::json() const {
  return json_.get([&] { return wire::toJson(agent_); });
}

std::vector<AgentPiecePtr> AgentPieces::of(const std::vector<AgentRecordPtr>& records, std::vector<Resources> allocated,
                                           std::vector<Resources> offered) {
  CHECK_EQ(records.size(), allocated.size());
  CHECK_EQ(records.size(), offered.size());
  std::vector<AgentPiecePtr> out;
  out.reserve(records.size());
  std::lock_guard<std::mutex> lock(mutex_);
  // Both in id order: one walk.
  auto last = last_.begin();
  for (std::size_t i = 0; i < records.size(); ++i) {
    const std::string& id = records[i]->agent_info().id().value();
    while (last != last_.end() && (*last)->id() < id) ++last;
    if (last != last_.end() && (*last)->record() == records[i] && (*last)->allocated() == allocated[i] &&
        (*last)->offered() == offered[i]) {
      out.push_back(*last);
      continue;
    }
    Response::GetAgents::Agent agent = *records[i];
    allocated[i].copyTo(agent.mutable_allocated_resources());
    offered[i].copyTo(agent.mutable_offered_resources());
    out.push_back(std::make_shared<const AgentPiece>(std::move(agent), records[i], std::move(allocated[i]),
                                                     std::move(offered[i])));
  }
  last_ = out;
  return out;
}

// ---------------------------------------------------------------------------
// TaskMap

const TaskListPtr& TaskMap::pieces() const {
  if (unchanged()) return pieces_;
  const Changes changes = takeChanges();
  const std::vector<TaskPiecePtr>& old = pieces_->pieces();
  std::vector<TaskPiecePtr> out;
  if (!changes.all && changes.keys.size() * 16 < map_.size()) {
    // A few changes: the last list with those ids replaced, added or gone.
    out = old;
    for (const std::string& id : changes.keys) {
      auto at = std::lower_bound(out.begin(), out.end(), id, byId);
      const bool had = at != out.end() && (*at)->id() == id;
      auto task = map_.find(id);
      if (task == map_.end()) {
        if (had) out.erase(at);
      } else if (had) {
        *at = std::make_shared<const TaskPiece>(task->second);
      } else {
        out.insert(at, std::make_shared<const TaskPiece>(task->second));
      }
    }
  } else {
    // Many: one walk of the map beside the last list (both in id order).
    out.reserve(map_.size());
    auto previous = old.begin();
    for (const auto& [id, task] : map_) {
      while (previous != old.end() && (*previous)->id() < id) ++previous;
      if (!changes.all && previous != old.end() && (*previous)->id() == id && !changes.keys.count(id)) {
        out.push_back(*previous);
      } else {
        out.push_back(std::make_shared<const TaskPiece>(task));
      }
    }
  }
  pieces_ = std::make_shared<const TaskList>(std::move(out));
  return pieces_;
}

void CompletedTasks::push_back(v1::Task task) {
  pieces_.push_back(std::make_shared<const TaskPiece>(std::move(task)));
  changed_ = true;
}

void CompletedTasks::pop_front() {
  pieces_.erase(pieces_.begin());
  changed_ = true;
}

const TaskListPtr& CompletedTasks::pieces() const {
  if (changed_) {
    list_ = std::make_shared<const TaskList>(pieces_);
    changed_ = false;
  }
  return list_;
}

// ---------------------------------------------------------------------------
// RenderedBodies

std::shared_ptr<const http::Body> RenderedBodies::get(const std::string& key,
                                                      const std::function<http::Body()>& render) {
  std::promise<std::shared_ptr<const http::Body>> mine;
  std::shared_future<std::shared_ptr<const http::Body>> body;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto [it, added] = bodies_.emplace(key, mine.get_future().share());
    if (!added) body = it->second;
  }
  if (body.valid()) return body.get();
  auto rendered = std::make_shared<const http::Body>(render());
  mine.set_value(rendered);
  return rendered;
}

// ---------------------------------------------------------------------------
// Snapshot

void Snapshot::complete() {
  // Executors' resources by framework, and by agent and framework, each in
  // the order the master adds them.
  std::map<std::string, std::vector<Resources>> executorsOf;
  std::map<std::string, std::map<std::string, std::vector<Resources>>> executorsOn;
  for (const auto& e : executors.executors()) {
    Result<Resources> r = Resources::from(e.executor_info().resources());
    if (!r.ok()) continue;
    executorsOf[e.executor_info().framework_id().value()].push_back(*r);
    executorsOn[e.agent_id().value()][e.executor_info().framework_id().value()].push_back(*r);
  }
  // Offers' resources by agent.
  std::map<std::string, Resources> offeredOn;
  for (const OfferListPtr& list : offers) {
    for (const OfferPiecePtr& offer : *list) offeredOn[offer->offer().agent_id().value()] += offer->resources();
  }
  std::map<std::string, const TaskSums*> sumsOf;
  for (int i = 0; i < frameworks.frameworks_size(); ++i) {
    auto* f = frameworks.mutable_frameworks(i);
    const std::string& id = f->framework_info().id().value();
    const TaskSums& sums = allocations[static_cast<std::size_t>(i)]->sums();
    sumsOf[id] = &sums;
    Resources allocated = sums.total;
    for (const Resources& r : executorsOf[id]) allocated += r;
    allocated.copyTo(f->mutable_allocated_resources());
    Resources offered;
    for (const OfferPiecePtr& offer : *offers[static_cast<std::size_t>(i)]) offered += offer->resources();
    offered.copyTo(f->mutable_offered_resources());
  }
  std::vector<Resources> agentsAllocated, agentsOffered;
  agentsAllocated.reserve(agentRecords->size());
  agentsOffered.reserve(agentRecords->size());
  for (const AgentRecordPtr& record : *agentRecords) {
    const std::string& agentId = record->agent_info().id().value();
    std::map<std::string, Resources> used;  // by framework id
    for (const auto& [frameworkId, sums] : sumsOf) {
      auto on = sums->byAgent.find(agentId);
      if (on != sums->byAgent.end()) used[frameworkId] += on->second;
    }
    auto e = executorsOn.find(agentId);
    if (e != executorsOn.end()) {
      for (const auto& [frameworkId, list] : e->second) {
        if (!sumsOf.count(frameworkId)) continue;
        for (const Resources& r : list) used[frameworkId] += r;
      }
    }
    Resources allocated;
    for (const auto& [frameworkId, r] : used) allocated += r;
    agentsAllocated.push_back(std::move(allocated));
    auto offered = offeredOn.find(agentId);
    agentsOffered.push_back(offered == offeredOn.end() ? Resources() : offered->second);
  }
  agentList = agentPieces->of(*agentRecords, std::move(agentsAllocated), std::move(agentsOffered));

  std::map<std::string, v1::Role> byName;
  auto role = [&](const std::string& name) -> v1::Role& {
    v1::Role& r = byName[name];
    if (!r.has_name()) {
      r.set_name(name);
      auto w = weights.find(name);
      r.set_weight(w == weights.end() ? 1.0 : w->second);
    }
    return r;
  };
  std::map<std::string, Resources> allocatedTo;
  for (const auto& f : frameworks.frameworks()) {
    const std::string& id = f.framework_info().id().value();
    for (const std::string& name : frameworkRoles(f.framework_info())) role(name).add_frameworks()->set_value(id);
    for (const auto& [name, r] : sumsOf[id]->byRole) allocatedTo[name] += r;
  }
  for (const auto& [name, weight] : weights) role(name);
  for (const auto& config : quotas) role(config.role());
  for (auto& [name, r] : allocatedTo) r.copyTo(role(name).mutable_resources());
  roles.clear();
  for (auto& [name, r] : byName) roles.push_back(std::move(r));
}

Response::GetState Snapshot::getState() const {
  Response::GetState out;
  auto copy = [](const std::vector<TaskRun>& runs, google::protobuf::RepeatedPtrField<v1::Task>* to) {
    for (const TaskRun& run : runs) {
      for (const TaskPiecePtr& piece : run.list->pieces()) {
        if (run.shows(*piece)) *to->Add() = piece->task();
      }
    }
  };
  copy(tasks, out.mutable_get_tasks()->mutable_tasks());
  copy(completedTasks, out.mutable_get_tasks()->mutable_completed_tasks());
  copy(unreachableTasks, out.mutable_get_tasks()->mutable_unreachable_tasks());
  *out.mutable_get_executors() = executors;
  *out.mutable_get_frameworks() = frameworks;
  for (std::size_t i = 0; i < offers.size(); ++i) {
    auto* f = out.mutable_get_frameworks()->mutable_frameworks(static_cast<int>(i));
    for (const OfferPiecePtr& offer : *offers[i]) *f->add_offers() = offer->offer();
  }
  for (const AgentPiecePtr& agent : agentList) *out.mutable_get_agents()->add_agents() = agent->agent();
  *out.mutable_get_agents()->mutable_recovered_agents() = recoveredAgents;
  return out;
}

Snapshot Snapshot::fromState(const Snapshot& base, Response::GetState state) {
  Snapshot s;
  s.masterInfo = base.masterInfo;
  s.startTime = base.startTime;
  s.electedTime = base.electedTime;
  s.cluster = base.cluster;
  s.flags = base.flags;
  s.weights = base.weights;
  s.quotas = base.quotas;
  s.roles = base.roles;
  auto runOf = [](google::protobuf::RepeatedPtrField<v1::Task>* list) {
    std::vector<TaskPiecePtr> pieces;
    pieces.reserve(static_cast<std::size_t>(list->size()));
    for (v1::Task& task : *list) pieces.push_back(std::make_shared<const TaskPiece>(std::move(task)));
    return std::vector<TaskRun>{{std::make_shared<const TaskList>(std::move(pieces)), TaskRun::Show::kAll}};
  };
  s.tasks = runOf(state.mutable_get_tasks()->mutable_tasks());
  s.completedTasks = runOf(state.mutable_get_tasks()->mutable_completed_tasks());
  s.unreachableTasks = runOf(state.mutable_get_tasks()->mutable_unreachable_tasks());
  s.executors.Swap(state.mutable_get_executors());
  s.frameworks.Swap(state.mutable_get_frameworks());
  for (auto& f : *s.frameworks.mutable_frameworks()) {
    auto list = std::make_shared<std::vector<OfferPiecePtr>>();
    for (v1::Offer& offer : *f.mutable_offers()) {
      Result<Resources> r = Resources::from(offer.resources());
      list->push_back(std::make_shared<const OfferPiece>(std::move(offer), r.ok() ? *r : Resources()));
    }
    f.clear_offers();
    s.offers.push_back(std::move(list));
  }
  for (Response::GetAgents::Agent& agent : *state.mutable_get_agents()->mutable_agents()) {
    s.agentList.push_back(std::make_shared<const AgentPiece>(std::move(agent), nullptr, Resources(), Resources()));
  }
  s.recoveredAgents.Swap(state.mutable_get_agents()->mutable_recovered_agents());
  return s;
}

// ---------------------------------------------------------------------------
// State calls

void keepPieces(const Snapshot& s, http::Body* body) {
  for (const auto* runs : {&s.tasks, &s.completedTasks, &s.unreachableTasks}) {
    for (const TaskRun& run : *runs) body->keep(run.list);
  }
  for (const OfferListPtr& offers : s.offers) body->keep(offers);
  body->keep(std::make_shared<const std::vector<AgentPiecePtr>>(s.agentList));
}

namespace {

void appendRuns(const std::vector<TaskRun>& runs, const char* key, bool* first, http::Body* out) {
  bool opened = false;
  for (const TaskRun& run : runs) {
    for (const TaskPiecePtr& piece : run.list->pieces()) {
      if (!run.shows(*piece)) continue;
      if (!opened) {
        out->copy(*first ? "\"" : ",\"");
        *first = false;
        out->copy(key);
        out->copy("\":[");
        opened = true;
      } else {
        out->copy(",");
      }
      out->borrow(piece->json());
    }
  }
  if (opened) out->copy("]");
}

using google::protobuf::io::CodedOutputStream;

// Appends field `number`'s tag (length-delimited) and `size`.
void appendHeader(int number, std::size_t size, http::Body* out) {
  std::uint8_t buffer[16];
  std::uint8_t* end = CodedOutputStream::WriteTagToArray(
      google::protobuf::internal::WireFormatLite::MakeTag(
          number, google::protobuf::internal::WireFormatLite::WIRETYPE_LENGTH_DELIMITED),
      buffer);
  end = CodedOutputStream::WriteVarint64ToArray(size, end);
  out->copy(std::string_view(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(end - buffer)));
}

// Appends field `number` (length-delimited) holding `bytes`.
void appendField(int number, std::string bytes, http::Body* out) {
  appendHeader(number, bytes.size(), out);
  out->own(std::move(bytes));
}

std::size_t fieldSize(int number, std::size_t size) {
  return CodedOutputStream::VarintSize32(static_cast<std::uint32_t>(number) << 3) +
         CodedOutputStream::VarintSize64(size) + size;
}

std::size_t runsSize(const std::vector<TaskRun>& runs, int number) {
  std::size_t size = 0;
  for (const TaskRun& run : runs) {
    for (const TaskPiecePtr& piece : run.list->pieces()) {
      if (run.shows(*piece)) size += fieldSize(number, piece->bytes().size());
    }
  }
  return size;
}

void appendRunBytes(const std::vector<TaskRun>& runs, int number, http::Body* out) {
  for (const TaskRun& run : runs) {
    for (const TaskPiecePtr& piece : run.list->pieces()) {
      if (!run.shows(*piece)) continue;
      appendHeader(number, piece->bytes().size(), out);
      out->borrow(piece->bytes());
    }
  }
}

// GetTasks' and GetAgents' JSON objects.
void appendTasksJson(const Snapshot& s, http::Body* out) {
  out->copy("{");
  bool first = true;
  appendRuns(s.tasks, "tasks", &first, out);
  appendRuns(s.completedTasks, "completed_tasks", &first, out);
  appendRuns(s.unreachableTasks, "unreachable_tasks", &first, out);
  out->copy("}");
}

void appendAgentsJson(const Snapshot& s, http::Body* out) {
  // GetAgents: agents, recovered_agents.
  out->copy("{");
  for (std::size_t i = 0; i < s.agentList.size(); ++i) {
    out->copy(i == 0 ? R"("agents":[)" : ",");
    out->borrow(s.agentList[i]->json());
  }
  if (!s.agentList.empty()) out->copy("]");
  std::string recovered;
  for (int i = 0; i < s.recoveredAgents.size(); ++i) {
    recovered.append(i > 0 ? "," : s.agentList.empty() ? R"("recovered_agents":[)" : R"(,"recovered_agents":[)");
    wire::appendJson(s.recoveredAgents[i], &recovered);
  }
  if (!s.recoveredAgents.empty()) recovered.push_back(']');
  out->own(std::move(recovered));
  out->copy("}");
}

void appendJson(const google::protobuf::Message& message, http::Body* out) {
  std::string json;
  wire::appendJson(message, &json);
  out->own(std::move(json));
}

// GetTasks' fields: tasks = 2, completed_tasks = 3, unreachable_tasks = 5.
std::size_t tasksBytesSize(const Snapshot& s) {
  return runsSize(s.tasks, 2) + runsSize(s.completedTasks, 3) + runsSize(s.unreachableTasks, 5);
}

void appendTasksBytes(const Snapshot& s, http::Body* out) {
  appendRunBytes(s.tasks, 2, out);
  appendRunBytes(s.completedTasks, 3, out);
  appendRunBytes(s.unreachableTasks, 5, out);
}

// The serialized GetAgents.
http::Body agentsBytes(const Snapshot& s) {
  http::Body out;
  for (const AgentPiecePtr& agent : s.agentList) {
    appendHeader(1, agent->bytes().size(), &out);
    out.borrow(agent->bytes());
  }
  Response::GetAgents recovered;
  *recovered.mutable_recovered_agents() = s.recoveredAgents;
  out.own(serialize(recovered));
  return out;
}

// GetFrameworks' JSON object: each live framework's rendering with its
// offers' spliced in before its closing brace.
void appendFrameworksJson(const Snapshot& s, http::Body* out) {
  out->copy("{");
  for (int i = 0; i < s.frameworks.frameworks_size(); ++i) {
    out->copy(i == 0 ? R"("frameworks":[)" : ",");
    std::string framework = wire::toJson(s.frameworks.frameworks(i));
    const std::vector<OfferPiecePtr>& offers = *s.offers[static_cast<std::size_t>(i)];
    if (offers.empty()) {
      out->own(std::move(framework));
      continue;
    }
    framework.pop_back();  // its '}'
    framework.append(framework.size() > 1 ? R"(,"offers":[)" : R"("offers":[)");
    out->own(std::move(framework));
    for (std::size_t j = 0; j < offers.size(); ++j) {
      if (j > 0) out->copy(",");
      out->borrow(offers[j]->json());
    }
    out->copy("]}");
  }
  if (s.frameworks.frameworks_size() > 0) out->copy("]");
  if (s.frameworks.completed_frameworks_size() > 0) {
    Response::GetFrameworks completed;
    *completed.mutable_completed_frameworks() = s.frameworks.completed_frameworks();
    std::string json = wire::toJson(completed);  // {"completed_frameworks":[...]}
    if (s.frameworks.frameworks_size() > 0) out->copy(",");
    out->own(json.substr(1, json.size() - 2));
  }
  out->copy("}");
}

// The serialized GetFrameworks: each live framework with its offers
// (Framework.offers = 7) after its other fields.
http::Body frameworksBytes(const Snapshot& s) {
  http::Body out;
  for (int i = 0; i < s.frameworks.frameworks_size(); ++i) {
    std::string framework = serialize(s.frameworks.frameworks(i));
    const std::vector<OfferPiecePtr>& offers = *s.offers[static_cast<std::size_t>(i)];
    std::size_t size = framework.size();
    for (const OfferPiecePtr& offer : offers) size += fieldSize(7, offer->bytes().size());
    appendHeader(1, size, &out);
    out.own(std::move(framework));
    for (const OfferPiecePtr& offer : offers) {
      appendHeader(7, offer->bytes().size(), &out);
      out.borrow(offer->bytes());
    }
  }
  Response::GetFrameworks completed;
  *completed.mutable_completed_frameworks() = s.frameworks.completed_frameworks();
  out.own(serialize(completed));
  return out;
}

void append(http::Body parts, http::Body* out) {
  auto shared = std::make_shared<const http::Body>(std::move(parts));
  for (std::string_view part : shared->parts()) out->borrow(part);
  out->keep(std::move(shared));
}

// A Response's type field (1).
void appendType(Response::Type type, http::Body* out) {
  std::uint8_t buffer[16];
  std::uint8_t* end = CodedOutputStream::WriteVarint32ToArray(1 << 3, buffer);
  end = CodedOutputStream::WriteVarint32ToArray(static_cast<std::uint32_t>(type), end);
  out->copy(std::string_view(reinterpret_cast<const char*>(buffer), static_cast<std::size_t>(end - buffer)));
}

void encodeJson(const Snapshot& s, Response::Type type, http::Body* out) {
  out->own(R"({"type":")" + Response::Type_Name(type) + R"(",)");
  switch (type) {
    case Response::GET_STATE:
      out->copy(R"("get_state":{"get_tasks":)");
      appendTasksJson(s, out);
      out->copy(R"(,"get_executors":)");
      appendJson(s.executors, out);
      out->copy(R"(,"get_frameworks":)");
      appendFrameworksJson(s, out);
      out->copy(R"(,"get_agents":)");
      appendAgentsJson(s, out);
      out->copy("}");
      break;
    case Response::GET_TASKS:
      out->copy(R"("get_tasks":)");
      appendTasksJson(s, out);
      break;
    case Response::GET_AGENTS:
      out->copy(R"("get_agents":)");
      appendAgentsJson(s, out);
      break;
    case Response::GET_FRAMEWORKS:
      out->copy(R"("get_frameworks":)");
      appendFrameworksJson(s, out);
      break;
    case Response::GET_EXECUTORS:
      out->copy(R"("get_executors":)");
      appendJson(s.executors, out);
      break;
    default: LOG(FATAL) << "not a state call: " << Response::Type_Name(type);
  }
  out->copy("}");
}

void encodeProtobuf(const Snapshot& s, Response::Type type, http::Body* out) {
  appendType(type, out);
  switch (type) {
    case Response::GET_STATE: {
      // GetState: get_tasks = 1, get_executors = 2, get_frameworks = 3, get_agents = 4.
      const std::size_t tasksSize = tasksBytesSize(s);
      std::string executors = serialize(s.executors);
      http::Body frameworks = frameworksBytes(s);
      http::Body agents = agentsBytes(s);
      const std::size_t stateSize = fieldSize(1, tasksSize) + fieldSize(2, executors.size()) +
                                    fieldSize(3, frameworks.size()) + fieldSize(4, agents.size());
      appendHeader(9, stateSize, out);
      appendHeader(1, tasksSize, out);
      appendTasksBytes(s, out);
      appendField(2, std::move(executors), out);
      appendHeader(3, frameworks.size(), out);
      append(std::move(frameworks), out);
      appendHeader(4, agents.size(), out);
      append(std::move(agents), out);
      break;
    }
    case Response::GET_TASKS:
      appendHeader(13, tasksBytesSize(s), out);
      appendTasksBytes(s, out);
      break;
    case Response::GET_AGENTS: {
      http::Body agents = agentsBytes(s);
      appendHeader(10, agents.size(), out);
      append(std::move(agents), out);
      break;
    }
    case Response::GET_FRAMEWORKS: {
      http::Body frameworks = frameworksBytes(s);
      appendHeader(11, frameworks.size(), out);
      append(std::move(frameworks), out);
      break;
    }
    case Response::GET_EXECUTORS: appendField(12, serialize(s.executors), out); break;
    default: LOG(FATAL) << "not a state call: " << Response::Type_Name(type);
  }
}

}  // namespace

http::Body encodeStateCall(const Snapshot& s, Response::Type type, wire::MediaType mediaType) {
  if (type == Response::GET_ROLES) {
    Response response;
    response.set_type(Response::GET_ROLES);
    for (const v1::Role& role : s.roles) *response.mutable_get_roles()->add_roles() = role;
    return http::Body(wire::encode(response, mediaType));
  }
  http::Body out;
  keepPieces(s, &out);
  if (mediaType == wire::MediaType::kJson) {
    encodeJson(s, type, &out);
  } else {
    encodeProtobuf(s, type, &out);
  }
  return out;
}

}  // namespace mantle::master
