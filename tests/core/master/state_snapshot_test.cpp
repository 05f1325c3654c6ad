// State snapshots without a master: which task pieces a TaskMap remakes, a
// snapshot that stays as it was while the tasks change, and GET_STATE
// assembled from the tasks' renderings against the whole message encoded.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <google/protobuf/util/message_differencer.h>
#include <json/json.h>

#include "master/master_impl.hpp"
#include "master/state_snapshot.hpp"
#include "wire/content_type.hpp"
#include "wire/json.hpp"

namespace mantle::master {
namespace {

namespace v1 = ::mesos::v1;
using Response = v1::master::Response;

v1::Task task(const std::string& id, const std::string& agentId, v1::TaskState state, double cpus = 1) {
  v1::Task t;
  t.set_name("task " + id);
  t.mutable_task_id()->set_value(id);
  t.mutable_framework_id()->set_value("F1");
  t.mutable_agent_id()->set_value(agentId);
  t.set_state(state);
  v1::Resource* r = t.add_resources();
  r->set_name("cpus");
  r->set_type(v1::Value::SCALAR);
  r->mutable_scalar()->set_value(cpus);
  r->mutable_allocation_info()->set_role("web");
  v1::TaskStatus* status = t.add_statuses();
  status->mutable_task_id()->set_value(id);
  status->set_state(state);
  status->set_timestamp(1700000000.25);
  (*t.mutable_limits())["cpus"].set_value(cpus * 2);
  (*t.mutable_limits())["mem"].set_value(64);
  return t;
}

// The records of agents A1 and A2 as the master makes them.
AgentRecordsPtr twoAgents() {
  auto records = std::make_shared<std::vector<AgentRecordPtr>>();
  for (const char* id : {"A1", "A2"}) {
    Response::GetAgents::Agent a;
    a.mutable_agent_info()->mutable_id()->set_value(id);
    a.mutable_agent_info()->set_hostname(std::string("host-") + id);
    a.set_active(true);
    a.set_version("1");
    records->push_back(std::make_shared<const Response::GetAgents::Agent>(std::move(a)));
  }
  return records;
}

v1::Offer offer(const std::string& id, const std::string& agentId, double cpus) {
  v1::Offer o;
  o.mutable_id()->set_value(id);
  o.mutable_framework_id()->set_value("F1");
  o.mutable_agent_id()->set_value(agentId);
  o.set_hostname("host-" + agentId);
  v1::Resource* r = o.add_resources();
  r->set_name("cpus");
  r->set_type(v1::Value::SCALAR);
  r->mutable_scalar()->set_value(cpus);
  r->mutable_allocation_info()->set_role("web");
  o.mutable_allocation_info()->set_role("web");
  return o;
}

OfferPiecePtr offerPiece(const std::string& id, const std::string& agentId, double cpus) {
  v1::Offer o = offer(id, agentId, cpus);
  return std::make_shared<const OfferPiece>(o, *resources::Resources::from(o.resources()));
}

OfferListPtr noOffers() {
  return std::make_shared<const std::vector<OfferPiecePtr>>();
}

// A snapshot of one framework's tasks as the master makes it, with an agent,
// an executor and an unreachable and a completed task.
Snapshot snapshotOf(const TaskMap& tasks, const TaskMap& unreachable, const CompletedTasks& completed,
                    std::shared_ptr<AgentPieces> agentPieces = std::make_shared<AgentPieces>(),
                    AgentRecordsPtr agents = twoAgents(), OfferListPtr offers = noOffers()) {
  Snapshot s;
  s.agentPieces = std::move(agentPieces);
  s.masterInfo.set_id("M");
  s.tasks.push_back({tasks.pieces(), TaskRun::Show::kLive});
  s.completedTasks.push_back({tasks.pieces(), TaskRun::Show::kTerminal});
  s.completedTasks.push_back({completed.pieces(), TaskRun::Show::kAll});
  s.unreachableTasks.push_back({unreachable.pieces(), TaskRun::Show::kAll});
  auto* f = s.frameworks.add_frameworks();
  f->mutable_framework_info()->mutable_id()->set_value("F1");
  f->mutable_framework_info()->set_user("u");
  f->mutable_framework_info()->set_name("f");
  f->mutable_framework_info()->add_roles("web");
  f->mutable_framework_info()->add_capabilities()->set_type(v1::FrameworkInfo::Capability::MULTI_ROLE);
  f->set_active(true);
  f->set_connected(true);
  s.allocations.push_back(tasks.pieces());
  s.offers.push_back(std::move(offers));
  s.agentRecords = std::move(agents);
  s.recoveredAgents.Add()->set_hostname("host-R");
  auto* e = s.executors.add_executors();
  e->mutable_executor_info()->mutable_executor_id()->set_value("E1");
  e->mutable_executor_info()->mutable_framework_id()->set_value("F1");
  v1::Resource* r = e->mutable_executor_info()->add_resources();
  r->set_name("cpus");
  r->set_type(v1::Value::SCALAR);
  r->mutable_scalar()->set_value(0.5);
  e->mutable_agent_id()->set_value("A1");
  s.weights["web"] = 2;
  s.complete();
  return s;
}

// Running (1 cpu) and staging (0.25) on A1, finished (2) on A2.
TaskMap threeTasks() {
  TaskMap tasks;
  tasks.emplace("t1", task("t1", "A1", v1::TASK_RUNNING, 1));
  tasks.emplace("t2", task("t2", "A2", v1::TASK_FINISHED, 2));
  tasks.emplace("t3", task("t3", "A1", v1::TASK_STAGING, 0.25));
  return tasks;
}

double scalar(const google::protobuf::RepeatedPtrField<v1::Resource>& resources, const std::string& name) {
  double sum = 0;
  for (const auto& r : resources) {
    if (r.name() == name) sum += r.scalar().value();
  }
  return sum;
}

TEST(TaskMapTest, ASnapshotRemakesOnlyThePiecesOfTasksThatChanged) {
  TaskMap tasks;
  for (const char* id : {"t1", "t2", "t3"}) tasks.emplace(id, task(id, "A1", v1::TASK_RUNNING));
  const TaskListPtr first = tasks.pieces();
  ASSERT_EQ(first->pieces().size(), 3u);
  // Nothing changed: the same list.
  EXPECT_EQ(tasks.pieces(), first);
  // Reads through a const reference change nothing.
  const TaskMap& view = tasks;
  EXPECT_EQ(view.find("t2")->second.state(), v1::TASK_RUNNING);
  for (const auto& [id, t] : view) EXPECT_FALSE(id.empty());
  EXPECT_EQ(tasks.pieces(), first);

  tasks.find("t2")->second.set_state(v1::TASK_FINISHED);
  tasks.emplace("t0", task("t0", "A2", v1::TASK_STAGING));
  tasks.erase("t3");
  const TaskListPtr second = tasks.pieces();
  ASSERT_EQ(second->pieces().size(), 3u);
  EXPECT_EQ(second->pieces()[0]->id(), "t0");
  EXPECT_EQ(second->pieces()[1], first->pieces()[0]);  // t1, untouched: shared
  EXPECT_NE(second->pieces()[2], first->pieces()[1]);  // t2, changed
  EXPECT_EQ(second->pieces()[2]->task().state(), v1::TASK_FINISHED);
  EXPECT_TRUE(second->pieces()[2]->terminal());
  // The first list is as it was.
  EXPECT_EQ(first->pieces()[1]->task().state(), v1::TASK_RUNNING);
  EXPECT_EQ(first->pieces()[2]->id(), "t3");

  // Writing through a non-const iteration counts as changing them all.
  for (auto& [id, t] : tasks) t.set_name("renamed");
  const TaskListPtr third = tasks.pieces();
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NE(third->pieces()[i], second->pieces()[i]);
    EXPECT_EQ(third->pieces()[i]->task().name(), "renamed");
  }
}

TEST(TaskMapTest, ManyChangesAtOnceAreFoundByOneWalkAndStillShareTheRest) {
  TaskMap tasks;
  for (int i = 0; i < 40; ++i) {
    const std::string id = "t" + std::to_string(100 + i);
    tasks.emplace(id, task(id, "A1", v1::TASK_RUNNING));
  }
  const TaskListPtr first = tasks.pieces();
  for (int i = 0; i < 20; ++i) tasks["t" + std::to_string(100 + 2 * i)].set_state(v1::TASK_KILLED);
  tasks.erase("t101");
  const TaskListPtr second = tasks.pieces();
  ASSERT_EQ(second->pieces().size(), 39u);
  std::size_t shared = 0;
  for (const TaskPiecePtr& piece : second->pieces()) {
    const bool even = std::stoi(piece->id().substr(1)) % 2 == 0;
    EXPECT_EQ(piece->terminal(), even) << piece->id();
    for (const TaskPiecePtr& old : first->pieces()) shared += old == piece;
  }
  EXPECT_EQ(shared, 19u);
}

TEST(SnapshotTest, ASnapshotKeepsItsTasksWhileTheMapChangesAfterIt) {
  TaskMap tasks, unreachable;
  CompletedTasks completed;
  tasks.emplace("t1", task("t1", "A1", v1::TASK_RUNNING));
  const Snapshot before = snapshotOf(tasks, unreachable, completed);
  const std::string json = encodeStateCall(before, Response::GET_STATE, wire::MediaType::kJson).str();
  const std::string bytes = encodeStateCall(before, Response::GET_STATE, wire::MediaType::kProtobuf).str();
  // The master changes: a task launched, one updated, after the snapshot.
  tasks.emplace("t2", task("t2", "A2", v1::TASK_STAGING));
  tasks["t1"].set_state(v1::TASK_KILLING);
  *tasks["t1"].add_statuses() = tasks["t1"].statuses(0);
  const Snapshot after = snapshotOf(tasks, unreachable, completed);
  EXPECT_EQ(encodeStateCall(before, Response::GET_STATE, wire::MediaType::kJson).str(), json);
  EXPECT_EQ(encodeStateCall(before, Response::GET_STATE, wire::MediaType::kProtobuf).str(), bytes);
  EXPECT_EQ(before.getState().get_tasks().tasks_size(), 1);
  EXPECT_EQ(before.getState().get_tasks().tasks(0).statuses_size(), 1);
  EXPECT_EQ(after.getState().get_tasks().tasks_size(), 2);
  EXPECT_EQ(after.getState().get_tasks().tasks(0).state(), v1::TASK_KILLING);
  EXPECT_EQ(after.getState().get_tasks().tasks(0).statuses_size(), 2);
}

TEST(SnapshotTest, ARenderedBodyOutlivesItsSnapshotAndTheTasksItBorrows) {
  std::vector<std::shared_ptr<const http::Body>> bodies;
  std::vector<std::string> expected;
  {
    TaskMap tasks = threeTasks(), unreachable;
    CompletedTasks completed;
    completed.push_back(task("t5", "A2", v1::TASK_FAILED));
    const Snapshot s = snapshotOf(tasks, unreachable, completed);
    for (wire::MediaType type : {wire::MediaType::kJson, wire::MediaType::kProtobuf}) {
      bodies.push_back(std::make_shared<const http::Body>(encodeStateCall(s, Response::GET_STATE, type)));
    }
    bodies.push_back(std::make_shared<const http::Body>(renderState(s)));
    for (const auto& body : bodies) expected.push_back(body->str());
    // The master removes and changes the tasks meanwhile.
    tasks.erase("t1");
    tasks["t2"].set_state(v1::TASK_KILLED);
    (void)tasks.pieces();
  }
  // Only the bodies hold the renderings now.
  for (std::size_t i = 0; i < bodies.size(); ++i) EXPECT_EQ(bodies[i]->str(), expected[i]);
  EXPECT_NE(expected[0].find("\"t1\""), std::string::npos);
}

TEST(SnapshotTest, GetStateFromTheTasksRenderingsIsTheWholeMessageEncoded) {
  TaskMap tasks = threeTasks(), unreachable;
  CompletedTasks completed;
  unreachable.emplace("t4", task("t4", "A3", v1::TASK_UNREACHABLE));
  completed.push_back(task("t5", "A2", v1::TASK_FAILED));
  const Snapshot s = snapshotOf(tasks, unreachable, completed);

  Response whole;
  whole.set_type(Response::GET_STATE);
  *whole.mutable_get_state() = s.getState();
  const auto& got = whole.get_state().get_tasks();
  ASSERT_EQ(got.tasks_size(), 2);
  EXPECT_EQ(got.tasks(1).task_id().value(), "t3");
  ASSERT_EQ(got.completed_tasks_size(), 2);
  EXPECT_EQ(got.completed_tasks(0).task_id().value(), "t2");  // terminal, not yet removed, first
  EXPECT_EQ(got.completed_tasks(1).task_id().value(), "t5");
  ASSERT_EQ(got.unreachable_tasks_size(), 1);

  EXPECT_EQ(encodeStateCall(s, Response::GET_STATE, wire::MediaType::kJson).str(),
            wire::encode(whole, wire::MediaType::kJson));
  Response parsed;
  ASSERT_TRUE(parsed.ParseFromString(encodeStateCall(s, Response::GET_STATE, wire::MediaType::kProtobuf).str()));
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, whole));
  EXPECT_EQ(encodeStateCall(s, Response::GET_STATE, wire::MediaType::kProtobuf).str().size(), whole.ByteSizeLong());
}

// Each state call as the master answered it before it was assembled from
// the renderings: the parts of the whole GetState.
Response wholeAnswer(const Snapshot& s, Response::Type type) {
  Response::GetState state = s.getState();
  Response out;
  out.set_type(type);
  switch (type) {
    case Response::GET_STATE: out.mutable_get_state()->Swap(&state); break;
    case Response::GET_TASKS: out.mutable_get_tasks()->Swap(state.mutable_get_tasks()); break;
    case Response::GET_AGENTS: out.mutable_get_agents()->Swap(state.mutable_get_agents()); break;
    case Response::GET_FRAMEWORKS: out.mutable_get_frameworks()->Swap(state.mutable_get_frameworks()); break;
    case Response::GET_EXECUTORS: out.mutable_get_executors()->Swap(state.mutable_get_executors()); break;
    case Response::GET_ROLES:
      for (const v1::Role& role : s.roles) *out.mutable_get_roles()->add_roles() = role;
      break;
    default: ADD_FAILURE() << Response::Type_Name(type);
  }
  return out;
}

TEST(SnapshotTest, EveryStateCallFromTheRenderingsIsItsWholeMessageEncodedEvenForAnEmptyState) {
  TaskMap tasks = threeTasks(), unreachable;
  CompletedTasks completed;
  unreachable.emplace("t4", task("t4", "A3", v1::TASK_UNREACHABLE));
  completed.push_back(task("t5", "A2", v1::TASK_FAILED));
  Snapshot empty;
  empty.complete();
  const Snapshot full = snapshotOf(tasks, unreachable, completed);
  for (const Snapshot* s : std::vector<const Snapshot*>{&empty, &full}) {
    for (Response::Type type : {Response::GET_STATE, Response::GET_TASKS, Response::GET_AGENTS,
                                Response::GET_FRAMEWORKS, Response::GET_EXECUTORS, Response::GET_ROLES}) {
      SCOPED_TRACE(Response::Type_Name(type) + (s == &empty ? " of an empty state" : ""));
      const Response whole = wholeAnswer(*s, type);
      EXPECT_EQ(encodeStateCall(*s, type, wire::MediaType::kJson).str(), wire::encode(whole, wire::MediaType::kJson));
      const std::string bytes = encodeStateCall(*s, type, wire::MediaType::kProtobuf).str();
      Response parsed;
      ASSERT_TRUE(parsed.ParseFromString(bytes));
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsed, whole)) << parsed.DebugString();
      EXPECT_EQ(bytes.size(), whole.ByteSizeLong());
    }
  }
}

Json::Value parsed(const std::string& text) {
  Json::Value out;
  std::string errors;
  std::unique_ptr<Json::CharReader> reader(Json::CharReaderBuilder().newCharReader());
  EXPECT_TRUE(reader->parse(text.data(), text.data() + text.size(), &out, &errors)) << errors << ": " << text;
  return out;
}

TEST(SnapshotTest, EveryStateCallWithOffersSplicedInMeansItsWholeMessage) {
  TaskMap tasks = threeTasks(), unreachable;
  CompletedTasks completed;
  auto offers = std::make_shared<const std::vector<OfferPiecePtr>>(
      std::vector<OfferPiecePtr>{offerPiece("O1", "A1", 3), offerPiece("O2", "A2", 4)});
  Snapshot s = snapshotOf(tasks, unreachable, completed, std::make_shared<AgentPieces>(), twoAgents(), offers);
  // A completed framework after the live one.
  auto* done = s.frameworks.add_completed_frameworks();
  done->mutable_framework_info()->set_name("done");
  done->mutable_framework_info()->set_user("u");
  done->set_active(false);
  done->set_connected(false);
  EXPECT_DOUBLE_EQ(scalar(s.frameworks.frameworks(0).offered_resources(), "cpus"), 7);
  EXPECT_DOUBLE_EQ(scalar(s.agentList[0]->agent().offered_resources(), "cpus"), 3);
  EXPECT_DOUBLE_EQ(scalar(s.agentList[1]->agent().offered_resources(), "cpus"), 4);
  const Response::GetState state = s.getState();
  ASSERT_EQ(state.get_frameworks().frameworks(0).offers_size(), 2);
  EXPECT_EQ(state.get_frameworks().frameworks(0).offers(1).id().value(), "O2");
  for (Response::Type type : {Response::GET_STATE, Response::GET_FRAMEWORKS}) {
    SCOPED_TRACE(Response::Type_Name(type));
    const Response whole = wholeAnswer(s, type);
    // The offers come after the framework's other fields: the same
    // document, its keys in another order.
    EXPECT_EQ(parsed(encodeStateCall(s, type, wire::MediaType::kJson).str()),
              parsed(wire::encode(whole, wire::MediaType::kJson)));
    const std::string bytes = encodeStateCall(s, type, wire::MediaType::kProtobuf).str();
    Response parsedBytes;
    ASSERT_TRUE(parsedBytes.ParseFromString(bytes));
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(parsedBytes, whole)) << parsedBytes.DebugString();
    EXPECT_EQ(bytes.size(), whole.ByteSizeLong());
  }
  // /master/state: each offer's own rendering in its framework.
  const Json::Value legacy = parsed(renderState(s).str());
  const Json::Value& f = legacy["frameworks"][0];
  ASSERT_EQ(f["offers"].size(), 2u);
  EXPECT_EQ(f["offers"][0]["id"].asString(), "O1");
  EXPECT_EQ(f["offers"][1]["slave_id"].asString(), "A2");
  EXPECT_EQ(f["offers"][1]["resources"]["cpus"].asDouble(), 4);
  EXPECT_EQ(f["offered_resources"]["cpus"].asDouble(), 7);
  EXPECT_EQ(legacy["completed_frameworks"][0]["offers"].size(), 0u);
}

TEST(SnapshotTest, CompleteSumsTheLiveTasksAndExecutorsByAgentFrameworkAndRole) {
  TaskMap tasks = threeTasks(), unreachable;
  CompletedTasks completed;
  const Snapshot s = snapshotOf(tasks, unreachable, completed);
  // Tasks 1 and 3 and the executor (0.5) on A1; the finished task not.
  EXPECT_DOUBLE_EQ(scalar(s.frameworks.frameworks(0).allocated_resources(), "cpus"), 1.75);
  EXPECT_DOUBLE_EQ(scalar(s.agentList[0]->agent().allocated_resources(), "cpus"), 1.75);
  EXPECT_EQ(s.agentList[1]->agent().allocated_resources_size(), 0);
  ASSERT_EQ(s.roles.size(), 1u);
  EXPECT_EQ(s.roles[0].name(), "web");
  EXPECT_EQ(s.roles[0].weight(), 2);
  EXPECT_DOUBLE_EQ(scalar(s.roles[0].resources(), "cpus"), 1.25);
  ASSERT_EQ(s.roles[0].frameworks_size(), 1);
}

TEST(SnapshotTest, AnAgentKeepsItsPieceAcrossSnapshotsUntilItsRecordChanges) {
  TaskMap tasks = threeTasks(), unreachable;
  CompletedTasks completed;
  auto pieces = std::make_shared<AgentPieces>();
  AgentRecordsPtr agents = twoAgents();
  auto next = [&] { return snapshotOf(tasks, unreachable, completed, pieces, agents); };
  const Snapshot first = next();
  ASSERT_EQ(first.agentList.size(), 2u);
  const Snapshot second = next();
  EXPECT_EQ(second.agentList[0], first.agentList[0]);
  EXPECT_EQ(second.agentList[1], first.agentList[1]);
  // A task ends on A1: its allocation, so its piece, changes; A2's not.
  tasks["t1"].set_state(v1::TASK_FINISHED);
  const Snapshot third = next();
  EXPECT_NE(third.agentList[0], first.agentList[0]);
  EXPECT_EQ(third.agentList[1], first.agentList[1]);
  EXPECT_DOUBLE_EQ(scalar(third.agentList[0]->agent().allocated_resources(), "cpus"), 0.75);
  EXPECT_EQ(third.agentList[0]->legacyJson(), legacyAgentJson(third.agentList[0]->agent()));
  // A2's record is remade (the agent changed): its piece too, A1's not.
  auto remade = std::make_shared<std::vector<AgentRecordPtr>>(*agents);
  Response::GetAgents::Agent a2 = *(*agents)[1];
  a2.set_active(false);
  (*remade)[1] = std::make_shared<const Response::GetAgents::Agent>(a2);
  agents = remade;
  const Snapshot fourth = next();
  EXPECT_EQ(fourth.agentList[0], third.agentList[0]);
  EXPECT_NE(fourth.agentList[1], third.agentList[1]);
  EXPECT_FALSE(fourth.agentList[1]->agent().active());
  // An offer made on A1: its piece is remade with it, A2's not.
  auto offers =
      std::make_shared<const std::vector<OfferPiecePtr>>(std::vector<OfferPiecePtr>{offerPiece("O1", "A1", 3)});
  const Snapshot offered = snapshotOf(tasks, unreachable, completed, pieces, agents, offers);
  EXPECT_NE(offered.agentList[0], fourth.agentList[0]);
  EXPECT_EQ(offered.agentList[1], fourth.agentList[1]);
  EXPECT_DOUBLE_EQ(scalar(offered.agentList[0]->agent().offered_resources(), "cpus"), 3);
  // An agent that is gone goes from the next snapshot.
  agents = std::make_shared<const std::vector<AgentRecordPtr>>(std::vector<AgentRecordPtr>{(*agents)[1]});
  const Snapshot fifth = next();
  ASSERT_EQ(fifth.agentList.size(), 1u);
  EXPECT_EQ(fifth.agentList[0], fourth.agentList[1]);
}

TEST(SnapshotTest, TheLegacyStateSplicesEachTasksOwnRenderingIntoItsFramework) {
  TaskMap tasks, unreachable;
  CompletedTasks completed;
  tasks.emplace("t1", task("t1", "A1", v1::TASK_RUNNING));
  tasks.emplace("t2", task("t2", "A2", v1::TASK_FINISHED));
  unreachable.emplace("t4", task("t4", "A3", v1::TASK_UNREACHABLE));
  Snapshot s = snapshotOf(tasks, unreachable, completed);
  // A framework name that looks like a placeholder stays a name.
  s.frameworks.mutable_frameworks(0)->mutable_framework_info()->set_name("@@splice-0@@");
  const std::string text = renderState(s).str();
  Json::Value state;
  std::string errors;
  std::unique_ptr<Json::CharReader> reader(Json::CharReaderBuilder().newCharReader());
  ASSERT_TRUE(reader->parse(text.data(), text.data() + text.size(), &state, &errors)) << errors;
  const Json::Value& f = state["frameworks"][0];
  EXPECT_EQ(f["name"].asString(), "@@splice-0@@");
  ASSERT_EQ(f["tasks"].size(), 1u);
  EXPECT_EQ(f["tasks"][0]["id"].asString(), "t1");
  EXPECT_EQ(f["tasks"][0]["statuses"][0]["timestamp"].asDouble(), 1700000000.25);
  ASSERT_EQ(f["completed_tasks"].size(), 1u);
  EXPECT_EQ(f["completed_tasks"][0]["state"].asString(), "TASK_FINISHED");
  ASSERT_EQ(f["unreachable_tasks"].size(), 1u);
  EXPECT_EQ(f["unreachable_tasks"][0]["slave_id"].asString(), "A3");
  EXPECT_EQ(f["used_resources"]["cpus"].asDouble(), 1.5);
  ASSERT_EQ(state["slaves"].size(), 2u);
  EXPECT_EQ(state["slaves"][1]["hostname"].asString(), "host-A2");
  EXPECT_EQ(state["recovered_slaves"][0]["hostname"].asString(), "host-R");
  // The splice is the task's own rendering, byte for byte.
  EXPECT_NE(text.find(legacyTaskJson(tasks.find("t1")->second)), std::string::npos);
}

// A map whose records remake what changed: its values are records made by
// copying, and each make counted.
using Counted = RecordedMap<std::string, std::string>;

std::vector<std::string> recordsOf(const Counted& map, int* made) {
  std::vector<std::string> out;
  for (const auto& record : *map.records([&](const std::string& value) {
         ++*made;
         return value;
       })) {
    out.push_back(*record);
  }
  return out;
}

TEST(RecordedMapTest, RecordsAreRemadeForEveryEntryChangedSinceTheLastCallAndOnlyForThose) {
  Counted map;
  map["a"] = "1";
  map["b"] = "2";
  map["c"] = "3";
  int made = 0;
  EXPECT_EQ(recordsOf(map, &made), (std::vector<std::string>{"1", "2", "3"}));
  // Nothing changed: the same list, nothing made.
  const auto* list = map.records([](const std::string& v) { return v; }).get();
  EXPECT_EQ(map.records([](const std::string& v) { return v; }).get(), list);
  made = 0;
  // Reads through a const reference change nothing.
  const Counted& view = map;
  EXPECT_EQ(view.find("a")->second, "1");
  EXPECT_EQ(view.at("b"), "2");
  for (const auto& [key, value] : view) EXPECT_FALSE(value.empty());
  EXPECT_EQ(recordsOf(map, &made), (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_EQ(made, 0);
  // Each way of changing an entry is seen by the next call.
  map.find("a")->second = "1a";
  EXPECT_EQ(recordsOf(map, &made), (std::vector<std::string>{"1a", "2", "3"}));
  EXPECT_EQ(made, 1);
  map.at("b") = "2b";
  map["d"] = "4";
  map.erase("c");
  made = 0;
  EXPECT_EQ(recordsOf(map, &made), (std::vector<std::string>{"1a", "2b", "4"}));
  EXPECT_EQ(made, 2);
  map.erase(map.find("a"));
  made = 0;
  EXPECT_EQ(recordsOf(map, &made), (std::vector<std::string>{"2b", "4"}));
  EXPECT_EQ(made, 0);
  // A change from outside the entry, told by touch().
  made = 0;
  map.touch("d");
  EXPECT_EQ(recordsOf(map, &made), (std::vector<std::string>{"2b", "4"}));
  EXPECT_EQ(made, 1);
  // Iterating it mutably may change any entry: every record is remade.
  for (auto& [key, value] : map) value += "!";
  made = 0;
  EXPECT_EQ(recordsOf(map, &made), (std::vector<std::string>{"2b!", "4!"}));
  EXPECT_EQ(made, 2);
}

}  // namespace
}  // namespace mantle::master
