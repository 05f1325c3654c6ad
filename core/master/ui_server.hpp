// The web UI (docs/UI.md): its static assets, built into the binary from
// core/master/ui/ by cmake/embed_files.cmake, and the small agent proxy that
// lets a browser which reaches only the master read an agent's state,
// sandbox files and metrics.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "http/server.hpp"
#include "mantle/result.hpp"

namespace mantle::master::ui {

// One asset; defined in the generated ui_assets.cpp.
struct EmbeddedFile {
  std::string_view path;  // "/index.html", "/app.js", ...
  std::string_view content;
};
extern const EmbeddedFile kEmbeddedFiles[];
extern const std::size_t kEmbeddedFileCount;

// "/" and "/ui/...": the page and its assets. They are served without
// credentials (the page asks for them and sends them with every API call).
bool isAssetPath(const std::string& path);
// The asset (index.html for "/"), or 404.
http::Response asset(const std::string& path);

// "/agents/<agent id>/<endpoint>": the agent endpoints the UI reads through
// the master.
bool isAgentProxyPath(const std::string& path);

struct AgentProxyTarget {
  std::string agentId;
  std::string agentPath;  // the agent's path and query, e.g. "/files/read?path=..."
};
// Checks a proxy request: GET, one of the endpoints state, metrics,
// files/browse, files/read, and a 'path' that names no parent directory
// (the agent itself refuses paths outside its sandboxes).
Result<AgentProxyTarget> agentProxyTarget(const std::string& path, const http::Request& request);

// Sends the request to `agentBaseUrl` (e.g. "http://10.0.0.1:5051") with the
// caller's Authorization header and answers with the agent's response (a 401
// of the agent becomes a 403 saying so), on a thread of its own. At most 32
// are in flight; more are answered 503; an agent silent for 15 s is a 502.
void forwardToAgent(const std::string& agentBaseUrl, const AgentProxyTarget& target, std::string authorization,
                    http::Responder responder);

}  // namespace mantle::master::ui
