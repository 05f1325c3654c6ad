#include "agent/fetcher.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent/launcher.hpp"
#include "http/client.hpp"

extern char** environ;

namespace mantle::agent {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxRedirects = 5;
constexpr std::size_t kMaxErrorOutput = 1024;

bool startsWith(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

bool endsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool isHttp(const std::string& value) {
  return startsWith(value, "http://") || startsWith(value, "https://");
}

// The last path segment of a URI (without query or fragment).
std::string baseName(const std::string& value) {
  std::string path = value;
  if (isHttp(value)) {
    const std::size_t hostEnd = value.find('/', value.find("://") + 3);
    path = hostEnd == std::string::npos ? "" : value.substr(hostEnd);
    path = path.substr(0, path.find_first_of("?#"));
  }
  while (!path.empty() && path.back() == '/') path.pop_back();
  const std::size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Where `uri` goes in the sandbox.
Result<fs::path> destination(const mesos::v1::CommandInfo::URI& uri, const fs::path& sandbox) {
  if (uri.has_output_file()) {
    const fs::path name(uri.output_file());
    if (uri.output_file().empty() || name.is_absolute() || uri.output_file().back() == '/') {
      return invalidArgument("output_file '" + uri.output_file() + "' must be a relative file name");
    }
    for (const auto& part : name) {
      if (part == "..") return invalidArgument("output_file '" + uri.output_file() + "' leaves the sandbox");
    }
    return sandbox / name;
  }
  const std::string name = baseName(uri.value());
  if (name.empty() || name == "." || name == "..") {
    return invalidArgument("no file name in the URI; give output_file");
  }
  return sandbox / name;
}

enum class Archive { kNone, kTar, kZip };

Archive archiveOf(const std::string& name) {
  for (const char* suffix : {".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz"}) {
    if (endsWith(name, suffix)) return Archive::kTar;
  }
  return endsWith(name, ".zip") ? Archive::kZip : Archive::kNone;
}

// Runs `argv` (found on PATH) with stdin and stdout on /dev/null; an error
// carries the end of what it wrote to stderr.
Status runTool(const std::vector<std::string>& argv) {
  int errPipe[2];
  if (::pipe2(errPipe, O_CLOEXEC) != 0) return internalError(std::string("pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2);
  std::vector<char*> args;
  std::vector<std::string> storage = argv;
  for (std::string& arg : storage) args.push_back(arg.data());
  args.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(errPipe[1]);
  if (spawned != 0) {
    ::close(errPipe[0]);
    return failedPrecondition("cannot run " + argv[0] + ": " + std::strerror(spawned));
  }
  std::string output;
  char buffer[4096];
  ssize_t n;
  while ((n = ::read(errPipe[0], buffer, sizeof(buffer))) != 0) {
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    output.append(buffer, static_cast<std::size_t>(n));
    if (output.size() > 2 * kMaxErrorOutput) output.erase(0, output.size() - kMaxErrorOutput);
  }
  ::close(errPipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (output.size() > kMaxErrorOutput) output.erase(0, output.size() - kMaxErrorOutput);
  while (!output.empty() && (output.back() == '\n' || output.back() == ' ')) output.pop_back();
  const std::string how = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                                            : "ended with wait status " + std::to_string(status);
  return internalError(argv[0] + " " + how + (output.empty() ? "" : ": " + output));
}

Status copyLocal(const std::string& source, const fs::path& target) {
  std::error_code ec;
  const fs::file_status status = fs::status(source, ec);
  if (ec || !fs::exists(status)) return notFound("no such file on this agent");
  if (!fs::is_regular_file(status)) return invalidArgument("not a regular file");
  fs::copy_file(source, target, fs::copy_options::overwrite_existing, ec);
  if (ec) return internalError("cannot copy it to " + target.string() + ": " + ec.message());
  return {};
}

Status download(std::string url, const fs::path& target, const FetchOptions& options) {
  const auto& cancel = options.cancel;
  const fs::path partial = target.string() + ".fetching";
  for (int redirects = 0;; ++redirects) {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) return internalError("cannot write " + partial.string());
    int status = 0;
    std::string location;
    bool writeFailed = false;
    http::StreamCallbacks callbacks;
    callbacks.onHead = [&](const http::ClientResponse& head) {
      status = head.status;
      location = head.header("Location");
      return status == 200;
    };
    callbacks.onData = [&](std::string_view data) {
      out.write(data.data(), static_cast<std::streamsize>(data.size()));
      writeFailed = !out;
      return !writeFailed;
    };
    Status fetched =
        http::stream("GET", url, {}, "", callbacks, cancel, http::ClientOptions{0, 30, options.stallTimeoutSeconds});
    out.close();
    std::error_code ignored;
    if (!fetched.ok() || writeFailed || status != 200 || (cancel && *cancel)) fs::remove(partial, ignored);
    if (cancel && *cancel) return failedPrecondition("the download was cancelled");
    if (!fetched.ok() && fetched.error().code == StatusCode::kDeadlineExceeded) {
      std::ostringstream seconds;
      seconds << options.stallTimeoutSeconds;
      return fetched.error().withContext("the download stalled (less than 1 byte/s for " + seconds.str() +
                                         " s, --fetcher_stall_timeout)");
    }
    if (!fetched.ok()) return fetched;
    if (writeFailed || !out) return internalError("cannot write " + partial.string());
    if (status == 200) break;
    const bool redirect = status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
    if (!redirect || location.empty()) return notFound("the server answered HTTP " + std::to_string(status));
    if (redirects == kMaxRedirects) return failedPrecondition("more than 5 redirects");
    if (startsWith(location, "/")) {
      location = url.substr(0, url.find('/', url.find("://") + 3)) + location;
    } else if (!isHttp(location)) {
      return failedPrecondition("a redirect to '" + location + "', which is not an http(s) URL");
    }
    url = location;
  }
  std::error_code ec;
  fs::rename(partial, target, ec);
  if (ec) return internalError("cannot rename " + partial.string() + ": " + ec.message());
  return {};
}

Status fetchOne(const mesos::v1::CommandInfo::URI& uri, const fs::path& sandbox, const FetchOptions& options) {
  Result<fs::path> target = destination(uri, sandbox);
  if (!target.ok()) return target.error();
  std::error_code ec;
  fs::create_directories(target->parent_path(), ec);
  if (ec) return internalError("cannot create " + target->parent_path().string() + ": " + ec.message());
  const std::string& value = uri.value();
  Status fetched;
  if (isHttp(value)) {
    fetched = download(value, *target, options);
  } else if (startsWith(value, "file://")) {
    const std::string path = value.substr(7);
    if (!startsWith(path, "/")) return invalidArgument("a file:// URI needs an absolute path (file:///...)");
    fetched = copyLocal(path, *target);
  } else if (startsWith(value, "/")) {
    fetched = copyLocal(value, *target);
  } else if (value.find("://") != std::string::npos) {
    return unimplemented("the scheme '" + value.substr(0, value.find("://")) +
                         "' is not supported (absolute paths, file://, http:// and https:// are)");
  } else {
    return invalidArgument("neither an absolute path nor a file://, http:// or https:// URI");
  }
  if (!fetched.ok()) return fetched;
  if (uri.executable()) {
    fs::permissions(*target,
                    fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec | fs::perms::owner_read |
                        fs::perms::group_read | fs::perms::others_read,
                    fs::perm_options::add, ec);
    if (ec) return internalError("cannot make " + target->string() + " executable: " + ec.message());
    return {};
  }
  if (!uri.extract()) return {};
  const std::string directory = target->parent_path().string();
  const Archive archive = archiveOf(target->filename().string());
  if (archive == Archive::kNone) return {};
  // An archive from anywhere is unpacked with the task user's rights, not
  // the agent's.
  std::vector<std::string> argv;
  if (options.user) {
    Result<UserIds> ids = lookupUser(*options.user);
    if (!ids.ok()) return ids.error();
    if (Status given = chownTree(directory, *options.user); !given.ok()) return given;
    argv = {"setpriv", "--reuid=" + std::to_string(ids->uid), "--regid=" + std::to_string(ids->gid), "--init-groups",
            "--"};
  }
  if (archive == Archive::kTar) {
    // GNU tar finds the compression itself; it strips leading '/' and
    // refuses members with '..'.
    argv.insert(argv.end(), {"tar", "-C", directory, "-xf", target->string()});
  } else {
    argv.insert(argv.end(), {"unzip", "-o", "-q", "-d", directory, target->string()});
  }
  if (Status extracted = runTool(argv); !extracted.ok()) return extracted.error().withContext("extracting it");
  return {};
}

}  // namespace

Status fetchUris(const std::vector<mesos::v1::CommandInfo::URI>& uris, const std::string& sandbox,
                 const FetchOptions& options) {
  for (const auto& uri : uris) {
    Status fetched = fetchOne(uri, sandbox, options);
    if (!fetched.ok()) return fetched.error().withContext("Failed to fetch '" + uri.value() + "'");
  }
  return {};
}

}  // namespace mantle::agent
