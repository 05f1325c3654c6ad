// The web UI's assets and agent proxy (ui_server.hpp, docs/UI.md).
#include "master/ui_server.hpp"

#include <atomic>
#include <filesystem>
#include <thread>

#include "http/client.hpp"
#include "master/master_impl.hpp"
#include "wire/host_port.hpp"

namespace mantle::master::ui {
namespace {

constexpr int kMaxProxiedRequests = 32;
std::atomic<int> proxiedRequests{0};

std::string_view contentType(std::string_view path) {
  auto endsWith = [&](std::string_view suffix) {
    return path.size() >= suffix.size() && path.substr(path.size() - suffix.size()) == suffix;
  };
  if (endsWith(".html")) return "text/html; charset=utf-8";
  if (endsWith(".js")) return "text/javascript; charset=utf-8";
  if (endsWith(".css")) return "text/css; charset=utf-8";
  if (endsWith(".svg")) return "image/svg+xml";
  if (endsWith(".png")) return "image/png";
  return "application/octet-stream";
}

}  // namespace

bool isAssetPath(const std::string& path) {
  return path == "/" || path.rfind("/ui/", 0) == 0;
}

http::Response asset(const std::string& path) {
  std::string_view name = path == "/" ? std::string_view("/index.html") : std::string_view(path).substr(3);
  for (std::size_t i = 0; i < kEmbeddedFileCount; ++i) {
    const EmbeddedFile& file = kEmbeddedFiles[i];
    if (file.path != name) continue;
    http::Response response{200, {}, std::string(file.content)};
    response.headers = {{"Content-Type", std::string(contentType(name))},
                        {"Cache-Control", "no-cache"},
                        // Everything the page loads comes from this master.
                        {"Content-Security-Policy", "default-src 'self'; img-src 'self' data:"},
                        {"X-Content-Type-Options", "nosniff"}};
    return response;
  }
  return http::Response::text(404, "No UI asset '" + path + "'");
}

bool isAgentProxyPath(const std::string& path) {
  return path.rfind("/agents/", 0) == 0;
}

Result<AgentProxyTarget> agentProxyTarget(const std::string& path, const http::Request& request) {
  if (request.method != "GET") {
    return Error(StatusCode::kInvalidArgument, "Expecting 'GET', received '" + request.method + "'");
  }
  std::string rest = path.substr(std::string("/agents/").size());
  std::size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0) {
    return Error(StatusCode::kNotFound, "Expecting '/agents/<agent id>/<endpoint>', got '" + path + "'");
  }
  AgentProxyTarget target;
  target.agentId = rest.substr(0, slash);
  std::string endpoint = rest.substr(slash);
  if (endpoint != "/state" && endpoint != "/metrics" && endpoint != "/modules" && endpoint != "/files/browse" &&
      endpoint != "/files/read") {
    return Error(StatusCode::kNotFound,
                 "The agent proxy serves only state, metrics, modules, files/browse and files/read, not '" +
                     endpoint.substr(1) + "'");
  }
  if (endpoint.rfind("/files/", 0) == 0) {
    std::string file = request.queryParam("path");
    if (file.empty()) return Error(StatusCode::kInvalidArgument, "Missing query parameter 'path'");
    for (const auto& part : std::filesystem::path(file)) {
      if (part == "..") return Error(StatusCode::kPermissionDenied, "'" + file + "' is outside every sandbox");
    }
  }
  target.agentPath = endpoint + (request.query.empty() ? "" : "?" + request.query);
  return target;
}

void forwardToAgent(const std::string& agentBaseUrl, const AgentProxyTarget& target, std::string authorization,
                    http::Responder responder) {
  if (proxiedRequests.fetch_add(1) >= kMaxProxiedRequests) {
    proxiedRequests.fetch_sub(1);
    return responder.respond(http::Response::text(503, "Too many agent requests in flight; try again"));
  }
  // The HTTP client blocks: a thread of its own keeps the HTTP threads free. It
  // holds only copies, so it may outlive the master.
  std::thread([url = agentBaseUrl + target.agentPath, agentId = target.agentId,
               authorization = std::move(authorization), responder = std::move(responder)] {
    http::Headers headers;
    if (!authorization.empty()) headers.emplace_back("Authorization", authorization);
    Result<http::ClientResponse> answer = http::request("GET", url, headers, "", http::ClientOptions{15, 5});
    if (!answer.ok()) {
      responder.respond(http::Response::text(502, "Agent " + agentId + " did not answer: " + answer.error().message));
    } else if (answer->status == 401) {
      // The caller's credentials are the master's business: an agent that
      // refuses them must not look like the master asking for others.
      responder.respond(http::Response::text(
          403, "Agent " + agentId + " refused the credentials of this request (401): " + answer->body));
    } else {
      http::Response response{answer->status, {}, std::move(answer->body)};
      std::string type = answer->header("Content-Type");
      if (!type.empty()) response.headers.emplace_back("Content-Type", type);
      responder.respond(std::move(response));
    }
    proxiedRequests.fetch_sub(1);
  }).detach();
}

}  // namespace mantle::master::ui

namespace mantle::master {

void MasterImpl::agentProxy(const std::string& path, const http::Request& request, const http::Responder& responder) {
  Result<ui::AgentProxyTarget> target = ui::agentProxyTarget(path, request);
  if (!target.ok()) return responder.respond(http::Response::error(target.error()));
  post([self = shared_from_this(), target = std::move(*target), authorization = request.header("Authorization"),
        responder]() mutable {
    auto it = self->agents_.find(target.agentId);
    if (it == self->agents_.end()) {
      return responder.respond(http::Response::text(404, "No agent '" + target.agentId + "'"));
    }
    const Agent& agent = it->second;
    if (!agent.connected) {
      return responder.respond(http::Response::text(503, "Agent '" + target.agentId + "' is disconnected"));
    }
    std::string base = std::string(self->flags_.security.tls() ? "https" : "http") + "://" +
                       wire::joinHostPort(ipOf(agent.address), static_cast<int>(agent.info.port()));
    ui::forwardToAgent(base, target, std::move(authorization), std::move(responder));
  });
}

}  // namespace mantle::master
