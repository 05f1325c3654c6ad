// The agent's HTTP endpoints: the v1 executor and operator APIs, the legacy
// JSON endpoints, sandbox files and metrics. Every handler runs on the
// agent's strand.
#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>

#include <glog/logging.h>
#include <json/reader.h>
#include <json/value.h>
#include <json/writer.h>

#include <filesystem>
#include <fstream>

#include "agent/agent.hpp"
#include "http/api_request.hpp"
#include "mantle/common/clock.hpp"
#include "mantle/common/prometheus.hpp"
#include "mantle/modules/metrics.hpp"
#include "mantle/modules/report.hpp"
#include "wire/json.hpp"
#include "wire/secrets.hpp"
#include "wire/task_state.hpp"

namespace mantle::agent {

namespace fs = std::filesystem;

namespace {

constexpr char kVersion[] = "0.1.0";
constexpr std::uint64_t kMaxReadLength = 16 * 1024 * 1024;

std::string write(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  return Json::writeString(builder, value);
}

// Mesos' legacy rendering: an object keyed by resource name.
Json::Value legacyResources(const google::protobuf::RepeatedPtrField<mesos::v1::Resource>& resources) {
  Json::Value out(Json::objectValue);
  for (const char* name : {"cpus", "gpus", "mem", "disk"}) out[name] = 0.0;
  std::map<std::string, std::string> ranges;
  for (const auto& resource : resources) {
    if (resource.type() == mesos::v1::Value::SCALAR) {
      out[resource.name()] = out.get(resource.name(), 0.0).asDouble() + resource.scalar().value();
    } else if (resource.type() == mesos::v1::Value::RANGES) {
      std::string& text = ranges[resource.name()];
      for (const auto& range : resource.ranges().range()) {
        if (!text.empty()) text += ", ";
        text += std::to_string(range.begin()) + "-" + std::to_string(range.end());
      }
    } else if (resource.type() == mesos::v1::Value::SET) {
      std::string text;
      for (const auto& item : resource.set().item()) text += (text.empty() ? "" : ", ") + item;
      out[resource.name()] = "{" + text + "}";
    }
  }
  for (const auto& [name, text] : ranges) out[name] = "[" + text + "]";
  return out;
}

Json::Value legacyTask(const mesos::v1::Task& task) {
  Json::Value out;
  out["id"] = task.task_id().value();
  out["name"] = task.name();
  out["framework_id"] = task.framework_id().value();
  out["executor_id"] = task.executor_id().value();
  out["slave_id"] = task.agent_id().value();
  out["state"] = mesos::v1::TaskState_Name(task.state());
  out["resources"] = legacyResources(task.resources());
  out["statuses"] = Json::Value(Json::arrayValue);
  for (const auto& status : task.statuses()) {
    Json::Value entry;
    entry["state"] = mesos::v1::TaskState_Name(status.state());
    entry["timestamp"] = status.timestamp();
    if (status.has_healthy()) entry["healthy"] = status.healthy();
    out["statuses"].append(entry);
  }
  if (task.has_labels()) {
    for (const auto& label : task.labels().labels()) {
      Json::Value entry;
      entry["key"] = label.key();
      entry["value"] = label.value();
      out["labels"].append(entry);
    }
  }
  return out;
}

std::string modeString(fs::perms perms, bool directory) {
  std::string out = directory ? "d" : "-";
  const fs::perms bits[] = {fs::perms::owner_read,  fs::perms::owner_write,  fs::perms::owner_exec,
                            fs::perms::group_read,  fs::perms::group_write,  fs::perms::group_exec,
                            fs::perms::others_read, fs::perms::others_write, fs::perms::others_exec};
  const char letters[] = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) out += (perms & bits[i]) != fs::perms::none ? letters[i] : '-';
  return out;
}

http::Response jsonResponse(int status, const Json::Value& value) {
  return http::Response::json(status, write(value));
}

// The endpoint without the "/slave(1)" prefix Mesos' agent also answers on.
std::string endpointPath(const std::string& requestPath) {
  std::string path = requestPath;
  for (const char* prefix : {"/slave(1)", "/slave%281%29"}) {
    if (path.rfind(prefix, 0) == 0) {
      path = path.substr(std::strlen(prefix));
      break;
    }
  }
  return path.empty() ? "/" : path;
}

http::Response forbidden(const std::optional<auth::Principal>& principal, const std::string& action) {
  return http::Response::text(403, "Not authorized: " + auth::describe(principal) + " may not '" + action + "'");
}

// Keeps what `authorizer` lets the principal see of the agent's state, by
// the master's rules (auth::StateFilter).
void filterState(mesos::v1::agent::Response::GetState* state, auth::RequestAuthorizer& authorizer) {
  auth::StateFilter filter(authorizer);
  filter.frameworks(state->mutable_get_frameworks()->mutable_frameworks());
  filter.frameworks(state->mutable_get_frameworks()->mutable_completed_frameworks());
  auto* tasks = state->mutable_get_tasks();
  for (auto* list : {tasks->mutable_pending_tasks(), tasks->mutable_queued_tasks(), tasks->mutable_launched_tasks(),
                     tasks->mutable_terminated_tasks(), tasks->mutable_completed_tasks()}) {
    filter.tasks(list);
  }
  filter.executors(state->mutable_get_executors()->mutable_executors());
  filter.executors(state->mutable_get_executors()->mutable_completed_executors());
}

}  // namespace

std::string Agent::realmFor(const std::string& requestPath) const {
  const std::string path = endpointPath(requestPath);
  // Executors prove themselves with their tokens (executorCall).
  if (path == "/api/v1/executor" || path == "/health" || path == "/version") return "";
  if (path == "/api/v1" || path == "/api/v1/" || path == "/logging/toggle") {
    // The operator API both shows and changes state: with either flag on it
    // is never anonymous.
    if (security_->authentication.enabled(auth::kAgentReadwriteRealm)) return auth::kAgentReadwriteRealm;
  }
  return auth::kAgentReadonlyRealm;
}

std::string Agent::executorUser(const std::string& frameworkId, const std::string& executorId) const {
  const Framework* framework = findFramework(frameworkId);
  if (framework == nullptr) return "";
  const mesos::v1::ExecutorInfo* info = nullptr;
  if (auto it = framework->executors.find(executorId); it != framework->executors.end()) info = &it->second->info;
  for (const auto& executor : framework->completedExecutors) {
    if (info == nullptr && executor->executorId == executorId) info = &executor->info;
  }
  if (info != nullptr && info->command().has_user()) return info->command().user();
  return framework->info.user();
}

void Agent::serve(const http::Request& request, const http::Responder& responder, const Principal& principal) {
  const std::string path = endpointPath(request.path);
  if (path == "/api/v1/executor") return executorCall(request, responder);
  if (path == "/api/v1") return operatorCall(request, responder, principal);
  if (path == "/health") return responder.respond(http::Response::text(200, ""));
  if (path == "/state" || path == "/state.json") return responder.respond(stateJson(principal));
  if (path == "/monitor/statistics" || path == "/monitor/statistics.json") {
    return responder.respond(monitorStatistics(principal));
  }
  if (path == "/files/browse" || path == "/files/browse.json") {
    return responder.respond(filesBrowse(request, principal));
  }
  if (path == "/files/read" || path == "/files/read.json") return responder.respond(filesRead(request, principal));
  if (path == "/files/download" || path == "/files/download.json") {
    auto real = sandboxPath(request.queryParam("path"), principal);
    if (!real.ok()) {
      return responder.respond(http::Response::error(real.error()));
    }
    std::ifstream in(*real, std::ios::binary);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    http::Response response = http::Response::text(200, std::move(content));
    response.headers = {{"Content-Type", "application/octet-stream"}};
    return responder.respond(std::move(response));
  }
  if (path == "/logging/toggle") {
    if (!security_->authorization.authorize(principal, "set_log_level", "")) {
      return responder.respond(forbidden(principal, "set_log_level"));
    }
    return responder.respond(verbosity_->toggle(request));
  }
  if (path == "/metrics") return responder.respond(metricsText());
  if (path == "/metrics/snapshot") return responder.respond(metricsSnapshot());
  if (path == "/flags") {
    if (!security_->authorization.authorize(principal, "view_flags", "")) {
      return responder.respond(forbidden(principal, "view_flags"));
    }
    Json::Value out;
    out["flags"] = Json::Value(Json::objectValue);
    for (const auto& [name, value] : flagValues_) out["flags"][name] = value;
    return responder.respond(jsonResponse(200, out));
  }
  if (path == "/modules") {
    if (!security_->authorization.authorize(principal, "view_flags", "")) {
      return responder.respond(forbidden(principal, "view_flags"));
    }
    return responder.respond(http::Response::json(200, modules::renderModulesJson(modules_)));
  }
  if (path == "/version") {
    Json::Value out;
    out["version"] = kVersion;
    return responder.respond(jsonResponse(200, out));
  }
  responder.respond(http::Response::text(404, "No such endpoint: " + request.path));
}

void Agent::operatorCall(const http::Request& request, const http::Responder& responder, const Principal& principal) {
  auto read = http::readApiCall<mesos::v1::agent::Call>(request, "an agent Call");
  if (!read.ok()) return responder.respond(http::errorResponse(read.error()));
  const mesos::v1::agent::Call* call = &read->call;
  const wire::ResponseFormat* responseFormat = &read->response;
  using Call = mesos::v1::agent::Call;
  using Response = mesos::v1::agent::Response;
  if (call->type() == Call::GET_FLAGS && !security_->authorization.authorize(principal, "view_flags", "")) {
    return responder.respond(forbidden(principal, "view_flags"));
  }
  auth::RequestAuthorizer authorizer(security_->authorization, principal);
  Response response;
  switch (call->type()) {
    case Call::GET_HEALTH:
      response.set_type(Response::GET_HEALTH);
      response.mutable_get_health()->set_healthy(true);
      break;
    case Call::GET_FLAGS:
      response.set_type(Response::GET_FLAGS);
      for (const auto& [name, value] : flagValues_) {
        auto* flag = response.mutable_get_flags()->add_flags();
        flag->set_name(name);
        flag->set_value(value);
      }
      break;
    case Call::GET_VERSION:
      response.set_type(Response::GET_VERSION);
      response.mutable_get_version()->mutable_version_info()->set_version(kVersion);
      break;
    case Call::GET_METRICS:
      response.set_type(Response::GET_METRICS);
      for (const auto& [name, value] : metrics()) {
        auto* metric = response.mutable_get_metrics()->add_metrics();
        metric->set_name(name);
        metric->set_value(value);
      }
      break;
    case Call::GET_STATE:
    case Call::GET_FRAMEWORKS:
    case Call::GET_EXECUTORS:
    case Call::GET_TASKS: {
      // Built whole, filtered per principal, then the asked-for part.
      Response::GetState state;
      *state.mutable_get_tasks() = getTasks();
      *state.mutable_get_executors() = getExecutors();
      *state.mutable_get_frameworks() = getFrameworks();
      filterState(&state, authorizer);
      if (call->type() == Call::GET_FRAMEWORKS) {
        response.set_type(Response::GET_FRAMEWORKS);
        response.mutable_get_frameworks()->Swap(state.mutable_get_frameworks());
      } else if (call->type() == Call::GET_EXECUTORS) {
        response.set_type(Response::GET_EXECUTORS);
        response.mutable_get_executors()->Swap(state.mutable_get_executors());
      } else if (call->type() == Call::GET_TASKS) {
        response.set_type(Response::GET_TASKS);
        response.mutable_get_tasks()->Swap(state.mutable_get_tasks());
      } else {
        response.set_type(Response::GET_STATE);
        response.mutable_get_state()->Swap(&state);
      }
      break;
    }
    case Call::GET_CONTAINERS:
      response.set_type(Response::GET_CONTAINERS);
      *response.mutable_get_containers() = getContainers();
      auth::keepIf(
          response.mutable_get_containers()->mutable_containers(), [&](const Response::GetContainers::Container& c) {
            return authorizer.may("view_containers", executorUser(c.framework_id().value(), c.executor_id().value()));
          });
      break;
    case Call::GET_LOGGING_LEVEL:
      response.set_type(Response::GET_LOGGING_LEVEL);
      response.mutable_get_logging_level()->set_level(static_cast<std::uint32_t>(verbosity_->level()));
      break;
    case Call::SET_LOGGING_LEVEL: {
      if (!authorizer.may("set_log_level", "")) return responder.respond(forbidden(principal, "set_log_level"));
      if (!call->has_set_logging_level()) {
        return responder.respond(
            http::Response::text(400, "Failed to validate agent::Call: Expecting 'set_logging_level' to be present"));
      }
      const auto& set = call->set_logging_level();
      if (Status s = verbosity_->setFromCall(set.level(), set.duration().nanoseconds()); !s.ok()) {
        return responder.respond(http::Response::text(400, s.error().message));
      }
      return responder.respond(http::Response{200, {}, ""});
    }
    case Call::PRUNE_IMAGES: {
      if (!authorizer.may("prune_images", "")) return responder.respond(forbidden(principal, "prune_images"));
      std::vector<images::ImageReference> excluded;
      for (const auto& image : call->prune_images().excluded_images()) {
        if (image.type() == mesos::v1::Image::APPC || !image.has_docker()) {
          return responder.respond(http::Response::text(
              400, "prune_images.excluded_images: only DOCKER and OCI images, named by docker.name, are supported"));
        }
        excluded.push_back({image.type() == mesos::v1::Image::OCI ? images::ImageReference::Type::kOci
                                                                  : images::ImageReference::Type::kDocker,
                            image.docker().name()});
      }
      return pruneImages(std::move(excluded), [responder](Result<images::PruneReport> report) {
        responder.respond(report.ok() ? http::Response{200, {}, ""} : http::Response::error(report.error()));
      });
    }
    case Call::GET_AGENT:
      response.set_type(Response::GET_AGENT);
      *response.mutable_get_agent()->mutable_agent_info() = info_;
      break;
    case Call::LIST_FILES: {
      auto real = sandboxPath(call->list_files().path(), principal);
      if (!real.ok()) {
        return responder.respond(http::Response::error(real.error()));
      }
      response.set_type(Response::LIST_FILES);
      std::error_code ec;
      for (const auto& entry : fs::directory_iterator(*real, ec)) {
        struct stat st;
        if (::lstat(entry.path().c_str(), &st) != 0) continue;
        auto* info = response.mutable_list_files()->add_file_infos();
        info->set_path(entry.path().string());
        info->set_nlink(static_cast<std::int32_t>(st.st_nlink));
        info->set_size(static_cast<std::uint64_t>(st.st_size));
        info->mutable_mtime()->set_nanoseconds(static_cast<std::int64_t>(st.st_mtime) * 1000000000);
        info->set_mode(st.st_mode);
      }
      break;
    }
    case Call::READ_FILE: {
      auto real = sandboxPath(call->read_file().path(), principal);
      if (!real.ok()) {
        return responder.respond(http::Response::error(real.error()));
      }
      std::ifstream in(*real, std::ios::binary);
      in.seekg(0, std::ios::end);
      const std::uint64_t size = static_cast<std::uint64_t>(in.tellg());
      const std::uint64_t offset = std::min<std::uint64_t>(call->read_file().offset(), size);
      const std::uint64_t length = std::min<std::uint64_t>(
          call->read_file().has_length() ? call->read_file().length() : kMaxReadLength, size - offset);
      std::string data(length, '\0');
      in.seekg(static_cast<std::streamoff>(offset));
      in.read(data.data(), static_cast<std::streamsize>(length));
      response.set_type(Response::READ_FILE);
      response.mutable_read_file()->set_size(size);
      response.mutable_read_file()->set_data(data);
      break;
    }
    default:
      return responder.respond(http::Response::text(501, "Unsupported agent call " + Call::Type_Name(call->type())));
  }
  http::Response out;
  out.status = 200;
  out.headers = {{"Content-Type", std::string(responseFormat->contentType())}};
  out.body = wire::encode(response, responseFormat->message);
  responder.respond(std::move(out));
}

mesos::v1::agent::Response::GetTasks Agent::getTasks() const {
  mesos::v1::agent::Response::GetTasks out;
  auto add = [&](const Executor& executor) {
    for (const std::string& id : executor.taskOrder) {
      auto it = executor.tasks.find(id);
      if (it == executor.tasks.end()) continue;
      const TaskEntry& task = it->second;
      if (wire::isTerminal(task.task.state())) {
        *out.add_terminated_tasks() = task.task;
      } else if (task.queued) {
        *out.add_queued_tasks() = task.task;
      } else {
        *out.add_launched_tasks() = task.task;
      }
    }
    for (const auto& task : executor.completedTasks) *out.add_completed_tasks() = task;
  };
  for (const auto& [id, framework] : frameworks_) {
    for (const auto& [eid, executor] : framework->executors) add(*executor);
    for (const auto& executor : framework->completedExecutors) add(*executor);
  }
  for (const auto& framework : completedFrameworks_) {
    for (const auto& executor : framework->completedExecutors) add(*executor);
  }
  return out;
}

mesos::v1::agent::Response::GetExecutors Agent::getExecutors() const {
  mesos::v1::agent::Response::GetExecutors out;
  for (const auto& [id, framework] : frameworks_) {
    for (const auto& [eid, executor] : framework->executors) {
      if (executor->state == Executor::State::kTerminated) {
        *out.add_completed_executors()->mutable_executor_info() = wire::redactedSecrets(executor->info);
      } else {
        *out.add_executors()->mutable_executor_info() = wire::redactedSecrets(executor->info);
      }
    }
    for (const auto& executor : framework->completedExecutors) {
      *out.add_completed_executors()->mutable_executor_info() = wire::redactedSecrets(executor->info);
    }
  }
  for (const auto& framework : completedFrameworks_) {
    for (const auto& executor : framework->completedExecutors) {
      *out.add_completed_executors()->mutable_executor_info() = wire::redactedSecrets(executor->info);
    }
  }
  return out;
}

mesos::v1::agent::Response::GetFrameworks Agent::getFrameworks() const {
  mesos::v1::agent::Response::GetFrameworks out;
  for (const auto& [id, framework] : frameworks_) *out.add_frameworks()->mutable_framework_info() = framework->info;
  for (const auto& framework : completedFrameworks_) {
    *out.add_completed_frameworks()->mutable_framework_info() = framework->info;
  }
  return out;
}

mesos::v1::agent::Response::GetContainers Agent::getContainers() {
  mesos::v1::agent::Response::GetContainers out;
  for (const auto& [id, framework] : frameworks_) {
    for (const auto& [eid, executor] : framework->executors) {
      if (!containerizer_->contains(executor->containerId)) continue;
      auto* container = out.add_containers();
      container->mutable_framework_id()->set_value(id);
      container->mutable_executor_id()->set_value(eid);
      container->set_executor_name(executor->info.name());
      container->mutable_container_id()->set_value(executor->containerId);
      auto* status = container->mutable_container_status();
      status->mutable_container_id()->set_value(executor->containerId);
      if (executor->pid > 0) status->set_executor_pid(static_cast<std::uint32_t>(executor->pid));
      *status->mutable_network_infos() = containerizer_->containerStatus(executor->containerId).network_infos();
      if (auto usage = containerizer_->usage(executor->containerId)) *container->mutable_resource_statistics() = *usage;
      describeFilesystem(*executor, *container);
    }
  }
  return out;
}

http::Response Agent::stateJson(const Principal& principal) {
  auth::RequestAuthorizer authorizer(security_->authorization, principal);
  Json::Value out;
  const std::string ip = flags_.ip == "0.0.0.0" ? "127.0.0.1" : flags_.ip;
  out["id"] = agentId_;
  out["pid"] = "slave(1)@" + ip + ":" + std::to_string(port_);
  out["hostname"] = info_.hostname();
  out["port"] = port_;
  out["version"] = kVersion;
  out["start_time"] = startTime_;
  out["master_hostname"] = flags_.master;
  out["resources"] = legacyResources(info_.resources());
  out["attributes"] = Json::Value(Json::objectValue);
  for (const auto& attribute : info_.attributes()) {
    switch (attribute.type()) {
      case mesos::v1::Value::SCALAR: out["attributes"][attribute.name()] = attribute.scalar().value(); break;
      case mesos::v1::Value::TEXT: out["attributes"][attribute.name()] = attribute.text().value(); break;
      default: out["attributes"][attribute.name()] = wire::toJson(attribute); break;
    }
  }
  out["flags"] = Json::Value(Json::objectValue);
  if (authorizer.may("view_flags", "")) {
    for (const auto& [name, value] : flagValues_) out["flags"][name] = value;
  }
  auto executorJson = [&](const Executor& executor) {
    Json::Value e;
    e["id"] = executor.executorId;
    e["name"] = executor.info.name();
    e["source"] = executor.executorId;
    e["framework_id"] = executor.frameworkId;
    e["container"] = executor.containerId;
    e["directory"] = executor.directory;
    e["resources"] = legacyResources(executor.info.resources());
    e["tasks"] = Json::Value(Json::arrayValue);
    e["queued_tasks"] = Json::Value(Json::arrayValue);
    e["completed_tasks"] = Json::Value(Json::arrayValue);
    for (const std::string& id : executor.taskOrder) {
      auto it = executor.tasks.find(id);
      if (it == executor.tasks.end()) continue;
      e[it->second.queued ? "queued_tasks" : "tasks"].append(legacyTask(it->second.task));
    }
    for (const auto& task : executor.completedTasks) e["completed_tasks"].append(legacyTask(task));
    return e;
  };
  out["frameworks"] = Json::Value(Json::arrayValue);
  auto executorVisible = [&](const Framework& framework, const Executor& executor) {
    const mesos::v1::CommandInfo& command = executor.info.command();
    return authorizer.may("view_executors", command.has_user() ? command.user() : framework.info.user());
  };
  auto frameworkJson = [&](const Framework& framework) {
    Json::Value f;
    f["id"] = framework.info.id().value();
    f["name"] = framework.info.name();
    f["user"] = framework.info.user();
    f["checkpoint"] = framework.info.checkpoint();
    f["role"] = framework.info.roles_size() > 0 ? framework.info.roles(0) : std::string("*");
    f["executors"] = Json::Value(Json::arrayValue);
    f["completed_executors"] = Json::Value(Json::arrayValue);
    for (const auto& [eid, executor] : framework.executors) {
      if (executorVisible(framework, *executor)) f["executors"].append(executorJson(*executor));
    }
    for (const auto& executor : framework.completedExecutors) {
      if (executorVisible(framework, *executor)) f["completed_executors"].append(executorJson(*executor));
    }
    return f;
  };
  for (const auto& [id, framework] : frameworks_) {
    if (authorizer.may("view_frameworks", framework->info.user())) out["frameworks"].append(frameworkJson(*framework));
  }
  out["completed_frameworks"] = Json::Value(Json::arrayValue);
  for (const auto& framework : completedFrameworks_) {
    if (authorizer.may("view_frameworks", framework->info.user())) {
      out["completed_frameworks"].append(frameworkJson(*framework));
    }
  }
  return jsonResponse(200, out);
}

http::Response Agent::monitorStatistics(const Principal& principal) {
  auth::RequestAuthorizer authorizer(security_->authorization, principal);
  Json::Value out(Json::arrayValue);
  for (const auto& [id, framework] : frameworks_) {
    for (const auto& [eid, executor] : framework->executors) {
      if (!authorizer.may("view_containers", executorUser(id, eid))) continue;
      auto usage = containerizer_->usage(executor->containerId);
      if (!usage) continue;
      Json::Value entry;
      entry["framework_id"] = id;
      entry["executor_id"] = eid;
      entry["executor_name"] = executor->info.name();
      entry["source"] = eid;
      entry["container_id"] = executor->containerId;
      Json::Value statistics;
      Json::CharReaderBuilder reader;
      std::string errors;
      const std::string text = wire::toJson(*usage);
      std::unique_ptr<Json::CharReader> parser(reader.newCharReader());
      parser->parse(text.data(), text.data() + text.size(), &statistics, &errors);
      entry["statistics"] = statistics;
      out.append(entry);
    }
  }
  return jsonResponse(200, out);
}

Result<std::string> Agent::sandboxPath(const std::string& path, const Principal& principal) const {
  if (path.empty()) return invalidArgument("missing 'path'");
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(fs::path(flags_.workDir) / "slaves", ec);
  fs::path requested = path;
  if (requested.is_relative()) requested = root / requested;
  const fs::path real = fs::weakly_canonical(requested, ec);
  if (ec) return notFound("no such path: " + path);
  // Inside <work_dir>/slaves/<agent>/frameworks/<fw>/executors/<ex>/runs/<container>.
  auto rel = real.lexically_relative(root);
  std::vector<std::string> parts;
  for (const auto& part : rel) parts.push_back(part.string());
  if (rel.empty() || parts.front() == ".." || parts.size() < 7 || parts[1] != "frameworks" || parts[3] != "executors" ||
      parts[5] != "runs") {
    return Error(StatusCode::kPermissionDenied, "'" + path + "' is outside every sandbox");
  }
  if (security_->authorization.enabled()) {
    const std::string user = executorUser(parts[2], parts[4]);
    if (!security_->authorization.authorize(principal, "access_sandboxes", user)) {
      return Error(StatusCode::kPermissionDenied, "Not authorized: " + auth::describe(principal) +
                                                      " may not 'access_sandboxes' of user '" + user + "'");
    }
  }
  if (!fs::exists(real, ec)) return notFound("no such path: " + path);
  return real.string();
}

http::Response Agent::filesBrowse(const http::Request& request, const Principal& principal) {
  auto real = sandboxPath(request.queryParam("path"), principal);
  if (!real.ok()) {
    return http::Response::error(real.error());
  }
  Json::Value out(Json::arrayValue);
  std::error_code ec;
  std::vector<fs::path> entries;
  if (fs::is_directory(*real, ec)) {
    for (const auto& entry : fs::directory_iterator(*real, ec)) entries.push_back(entry.path());
  } else {
    entries.push_back(*real);
  }
  std::sort(entries.begin(), entries.end());
  for (const auto& entry : entries) {
    struct stat st;
    if (::lstat(entry.c_str(), &st) != 0) continue;
    Json::Value file;
    file["path"] = entry.string();
    file["nlink"] = static_cast<Json::UInt64>(st.st_nlink);
    file["size"] = static_cast<Json::UInt64>(st.st_size);
    file["mtime"] = static_cast<Json::Int64>(st.st_mtime);
    file["mode"] = modeString(fs::status(entry, ec).permissions(), S_ISDIR(st.st_mode));
    struct passwd* pw = ::getpwuid(st.st_uid);
    struct group* gr = ::getgrgid(st.st_gid);
    file["uid"] = pw != nullptr ? pw->pw_name : std::to_string(st.st_uid);
    file["gid"] = gr != nullptr ? gr->gr_name : std::to_string(st.st_gid);
    out.append(file);
  }
  return jsonResponse(200, out);
}

http::Response Agent::filesRead(const http::Request& request, const Principal& principal) {
  auto real = sandboxPath(request.queryParam("path"), principal);
  if (!real.ok()) {
    return http::Response::error(real.error());
  }
  std::error_code ec;
  if (fs::is_directory(*real, ec)) return http::Response::text(400, "Cannot read a directory");
  std::ifstream in(*real, std::ios::binary);
  in.seekg(0, std::ios::end);
  const std::int64_t size = static_cast<std::int64_t>(in.tellg());
  std::int64_t offset = -1;
  std::int64_t length = -1;
  try {
    if (!request.queryParam("offset").empty()) offset = std::stoll(request.queryParam("offset"));
    if (!request.queryParam("length").empty()) length = std::stoll(request.queryParam("length"));
  } catch (const std::exception&) {
    return http::Response::text(400, "Bad offset or length");
  }
  Json::Value out;
  if (offset < 0) {
    out["data"] = "";
    out["offset"] = static_cast<Json::Int64>(size);
    return jsonResponse(200, out);
  }
  offset = std::min(offset, size);
  if (length < 0) length = static_cast<std::int64_t>(kMaxReadLength);
  length = std::min({length, size - offset, static_cast<std::int64_t>(kMaxReadLength)});
  std::string data(static_cast<std::size_t>(length), '\0');
  in.seekg(offset);
  in.read(data.data(), length);
  out["data"] = data;
  out["offset"] = static_cast<Json::Int64>(offset);
  return jsonResponse(200, out);
}

std::map<std::string, double> Agent::metrics() const {
  std::map<std::string, double> out;
  const double uptime = wallNow() - startTime_;
  out["slave/registered"] = connected_ ? 1 : 0;
  out["slave/uptime_secs"] = uptime;
  double cpus = 0, mem = 0, disk = 0, gpus = 0;
  for (const auto& resource : info_.resources()) {
    if (resource.type() != mesos::v1::Value::SCALAR) continue;
    if (resource.name() == "cpus") cpus += resource.scalar().value();
    if (resource.name() == "mem") mem += resource.scalar().value();
    if (resource.name() == "disk") disk += resource.scalar().value();
    if (resource.name() == "gpus") gpus += resource.scalar().value();
  }
  double cpusUsed = 0, memUsed = 0, diskUsed = 0, gpusUsed = 0;
  std::map<std::string, double> executors;
  std::map<std::string, double> tasks;
  for (const char* state : {"registering", "running", "terminating", "terminated"}) executors[state] = 0;
  for (const char* state : {"staging", "starting", "running", "killing", "finished", "failed", "killed", "lost", "gone",
                            "error", "dropped"}) {
    tasks[state] = 0;
  }
  for (const auto& [id, framework] : frameworks_) {
    for (const auto& [eid, executor] : framework->executors) {
      static const char* names[] = {"registering", "running", "terminating", "terminated"};
      executors[names[static_cast<int>(executor->state)]] += 1;
      for (const auto& [tid, task] : executor->tasks) {
        std::string state = mesos::v1::TaskState_Name(task.task.state()).substr(5);
        std::transform(state.begin(), state.end(), state.begin(), ::tolower);
        tasks[state] += 1;
        for (const auto& resource : task.info.resources()) {
          if (resource.type() != mesos::v1::Value::SCALAR) continue;
          if (resource.name() == "cpus") cpusUsed += resource.scalar().value();
          if (resource.name() == "mem") memUsed += resource.scalar().value();
          if (resource.name() == "disk") diskUsed += resource.scalar().value();
          if (resource.name() == "gpus") gpusUsed += resource.scalar().value();
        }
      }
      for (const auto& task : executor->completedTasks) {
        std::string state = mesos::v1::TaskState_Name(task.state()).substr(5);
        std::transform(state.begin(), state.end(), state.begin(), ::tolower);
        tasks[state] += 1;
      }
    }
  }
  auto share = [](double used, double total) { return total > 0 ? used / total : 0.0; };
  out["slave/cpus_total"] = cpus;
  out["slave/cpus_used"] = cpusUsed;
  out["slave/cpus_percent"] = share(cpusUsed, cpus);
  out["slave/mem_total"] = mem;
  out["slave/mem_used"] = memUsed;
  out["slave/mem_percent"] = share(memUsed, mem);
  out["slave/disk_total"] = disk;
  out["slave/disk_used"] = diskUsed;
  out["slave/disk_percent"] = share(diskUsed, disk);
  out["slave/gpus_total"] = gpus;
  out["slave/gpus_used"] = gpusUsed;
  out["slave/gpus_percent"] = share(gpusUsed, gpus);
  for (const auto& [state, count] : executors) out["slave/executors_" + state] = count;
  for (const auto& [state, count] : tasks) out["slave/tasks_" + state] = count;
  out["slave/frameworks_active"] = static_cast<double>(frameworks_.size());
  for (const char* name :
       {"valid_status_updates", "invalid_status_updates", "container_launch_errors", "recovery_errors",
        "executor_authentication_successes", "executor_authentication_unauthorized",
        "executor_authentication_forbidden", "images_pruned", "image_layers_pruned", "image_bytes_pruned"}) {
    auto it = counters_.find(name);
    out[std::string("slave/") + name] = it == counters_.end() ? 0 : static_cast<double>(it->second);
  }
  // Mesos' garbage collector metrics.
  for (const auto& [name, counter] :
       {std::pair<const char*, const char*>{"succeeded", "gc_removals"}, {"failed", "gc_failures"}}) {
    auto it = counters_.find(counter);
    out[std::string("gc/path_removals_") + name] = it == counters_.end() ? 0 : static_cast<double>(it->second);
  }
  out["gc/path_removals_pending"] = gc_ ? static_cast<double>(gc_->scheduled().size()) : 0;
  for (const auto& [name, value] : hooks_->metricsSnapshot()) out["slave/" + name] = value;
  for (const auto& [name, value] : security_->metrics()) out["slave/" + name] = value;
  if (server_) out["slave/tls/handshake_failures"] = static_cast<double>(server_->tlsHandshakeFailures());
  return out;
}

http::Response Agent::metricsSnapshot() {
  Json::Value out(Json::objectValue);
  for (const auto& [name, value] : metrics()) out[name] = value;
  return jsonResponse(200, out);
}

http::Response Agent::metricsText() {
  prometheus::TextWriter out;
  for (const auto& [name, value] : metrics()) {
    const std::string metric = prometheus::metricName("mantle_agent_" + name.substr(name.find('/') + 1));
    const bool counter = metric.find("status_updates") != std::string::npos ||
                         metric.find("errors") != std::string::npos || metric.rfind("mantle_agent_hooks_", 0) == 0;
    out.single(metric, counter ? "counter" : "gauge", value);
  }
  modules::writePrometheus(modules_.metrics(), out);
  http::Response response = http::Response::text(200, out.text());
  response.headers = {{"Content-Type", prometheus::kContentType}};
  return response;
}

}  // namespace mantle::agent
