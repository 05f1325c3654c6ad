// Mesos' v0 operator endpoints, each the operator call it stands for (same
// validation, ACLs and state changes), in Mesos' request and response shapes:
// /master/quota, /master/weights, /master/reserve, /master/unreserve,
// /master/create-volumes, /master/destroy-volumes, /master/teardown; and
// libprocess' /logging/toggle. HTTP threads until the call is posted.
#include "master/master_impl.hpp"
#include "wire/json.hpp"

namespace mantle::master {

using v1::master::Call;

namespace {

http::Response methodNotAllowed(const http::Request& request, const std::string& allowed) {
  http::Response response =
      http::Response::text(405, "Expecting one of { '" + allowed + "' }, but received '" + request.method + "'");
  response.headers.emplace_back("Allow", allowed);
  return response;
}

// A form parameter of the request body (application/x-www-form-urlencoded,
// as `curl -d` sends it), else of the query string.
std::optional<std::string> formParam(const http::Request& request, std::string_view name) {
  if (std::optional<std::string> value = http::formValue(request.body, name)) return value;
  return request.findQueryParam(name);
}

// Parses the JSON array `text` into the repeated field `field` of `M`.
template <typename M>
Result<M> parseArrayInto(const std::string& field, const std::string& text) {
  M message;
  std::string json = "{\"" + field + "\":" + text + "}";
  if (Status s = wire::fromJson(json, &message); !s.ok()) return s.error();
  if (Status s = wire::checkRequiredFields(message); !s.ok()) return s.error();
  return message;
}

}  // namespace

bool MasterImpl::isLegacyOperatorPath(const std::string& path) {
  return path == "/quota" || path.rfind("/quota/", 0) == 0 || path == "/weights" || path == "/reserve" ||
         path == "/unreserve" || path == "/create-volumes" || path == "/destroy-volumes" || path == "/teardown" ||
         path == "/logging/toggle";
}

void MasterImpl::legacyOperatorEndpoint(const std::string& path, const http::Request& request,
                                        const http::Responder& responder, const Principal& principal) {
  auto self = shared_from_this();
  if (path == "/logging/toggle") {
    if (security_->authorization.enabled() && !security_->authorization.authorize(principal, "set_log_level", "")) {
      return responder.respond(
          http::Response::text(403, "Not authorized: " + auth::describe(principal) + " may not 'set_log_level'"));
    }
    return responder.respond(verbosity_->toggle(request));
  }
  if (!recovered_) return responder.respond(http::Response::text(503, "Master has not finished recovery"));

  Call call;
  if (path == "/quota" && request.method == "GET") {
    return post([self, responder] { self->respondMessage(responder, self->quotaStatus(), wire::MediaType::kJson); });
  } else if (path == "/quota" && request.method == "POST") {
    call.set_type(Call::SET_QUOTA);
    v1::quota::QuotaRequest* quota = call.mutable_set_quota()->mutable_quota_request();
    if (Status s = wire::fromJson(request.body, quota); !s.ok()) {
      return responder.respond(
          http::Response::text(400, "Failed to parse set quota request JSON: " + s.error().message));
    }
  } else if (path.rfind("/quota/", 0) == 0 && request.method == "DELETE") {
    call.set_type(Call::REMOVE_QUOTA);
    call.mutable_remove_quota()->set_role(path.substr(7));
  } else if (path == "/quota" || path.rfind("/quota/", 0) == 0) {
    return responder.respond(methodNotAllowed(request, path == "/quota" ? "GET, POST" : "DELETE"));
  } else if (path == "/weights" && request.method == "GET") {
    return post([self, responder] {
      // A JSON array of WeightInfo.
      std::string out = "[";
      for (const auto& [role, weight] : self->weights_) {
        v1::WeightInfo info;
        info.set_role(role);
        info.set_weight(weight);
        if (out.size() > 1) out += ",";
        wire::appendJson(info, &out);
      }
      responder.respond(http::Response::json(200, out + "]"));
    });
  } else if (path == "/weights" && request.method == "PUT") {
    Result<Call::UpdateWeights> weights = parseArrayInto<Call::UpdateWeights>("weight_infos", request.body);
    if (!weights.ok()) {
      return responder.respond(
          http::Response::text(400, "Failed to parse update weights request JSON (expecting an array of WeightInfo): " +
                                        weights.error().message));
    }
    call.set_type(Call::UPDATE_WEIGHTS);
    *call.mutable_update_weights() = std::move(*weights);
  } else if (path == "/weights") {
    return responder.respond(methodNotAllowed(request, "GET, PUT"));
  } else if (request.method != "POST") {
    return responder.respond(methodNotAllowed(request, "POST"));
  } else if (path == "/teardown") {
    std::optional<std::string> frameworkId = formParam(request, "frameworkId");
    if (!frameworkId || frameworkId->empty()) {
      return responder.respond(http::Response::text(400, "Missing 'frameworkId' query parameter in the request body"));
    }
    call.set_type(Call::TEARDOWN);
    call.mutable_teardown()->mutable_framework_id()->set_value(*frameworkId);
  } else {
    // /reserve, /unreserve (slaveId, resources); /create-volumes,
    // /destroy-volumes (slaveId, volumes).
    bool volumes = path == "/create-volumes" || path == "/destroy-volumes";
    const char* field = volumes ? "volumes" : "resources";
    std::optional<std::string> slaveId = formParam(request, "slaveId");
    if (!slaveId || slaveId->empty()) {
      return responder.respond(http::Response::text(400, "Missing 'slaveId' query parameter in the request body"));
    }
    std::optional<std::string> list = formParam(request, field);
    if (!list) {
      return responder.respond(
          http::Response::text(400, std::string("Missing '") + field + "' query parameter in the request body"));
    }
    Result<v1::Offer::Operation::Reserve> parsed = parseArrayInto<v1::Offer::Operation::Reserve>("resources", *list);
    if (!parsed.ok()) {
      return responder.respond(
          http::Response::text(400, std::string("Error in parsing '") + field +
                                        "' query parameter in the request body: " + parsed.error().message));
    }
    v1::AgentID agentId;
    agentId.set_value(*slaveId);
    if (path == "/reserve") {
      call.set_type(Call::RESERVE_RESOURCES);
      *call.mutable_reserve_resources()->mutable_agent_id() = agentId;
      *call.mutable_reserve_resources()->mutable_resources() = parsed->resources();
    } else if (path == "/unreserve") {
      call.set_type(Call::UNRESERVE_RESOURCES);
      *call.mutable_unreserve_resources()->mutable_agent_id() = agentId;
      *call.mutable_unreserve_resources()->mutable_resources() = parsed->resources();
    } else if (path == "/create-volumes") {
      call.set_type(Call::CREATE_VOLUMES);
      *call.mutable_create_volumes()->mutable_agent_id() = agentId;
      *call.mutable_create_volumes()->mutable_volumes() = parsed->resources();
    } else {
      call.set_type(Call::DESTROY_VOLUMES);
      *call.mutable_destroy_volumes()->mutable_agent_id() = agentId;
      *call.mutable_destroy_volumes()->mutable_volumes() = parsed->resources();
    }
  }
  // The v1 call from here on: same ACLs, same handler.
  if (security_->authorization.enabled()) {
    if (Status authorized = authorizeOperatorCall(call, principal); !authorized.ok()) {
      return responder.respond(http::Response::error(authorized.error()));
    }
    if (call.type() == Call::TEARDOWN)
      return authorizeTeardown(std::move(call), wire::ResponseFormat{}, responder, principal);
  }
  if (call.type() == Call::UPDATE_WEIGHTS) {
    // As UPDATE_WEIGHTS, but answered 200 (Mesos' /weights).
    if (Status s = validateWeights(call.update_weights().weight_infos()); !s.ok()) {
      return responder.respond(http::Response::text(400, s.error().message));
    }
    std::vector<v1::WeightInfo> infos(call.update_weights().weight_infos().begin(),
                                      call.update_weights().weight_infos().end());
    return post([self, infos = std::move(infos), responder]() mutable {
      self->count("master/calls/operator/UPDATE_WEIGHTS");
      self->recordWeights(std::move(infos), responder, 200);
    });
  }
  post([self, call = std::move(call), responder]() mutable {
    self->operatorCall(std::move(call), wire::ResponseFormat{}, responder);
  });
}

}  // namespace mantle::master
