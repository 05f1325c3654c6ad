#include "browser.hpp"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

namespace mantle::testing {
namespace {

std::string findOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::filesystem::path candidate = std::filesystem::path(dir) / name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

std::string compact(const Json::Value& value) {
  Json::StreamWriterBuilder builder;
  builder["indentation"] = "";
  return Json::writeString(builder, value);
}

}  // namespace

std::string Browser::binary() {
  if (const char* explicitPath = std::getenv("MANTLE_CHROMIUM"); explicitPath != nullptr && *explicitPath != '\0') {
    return ::access(explicitPath, X_OK) == 0 ? explicitPath : "";
  }
  for (const char* name : {"chromium", "chromium-browser"}) {
    if (std::string found = findOnPath(name); !found.empty()) return found;
  }
  return "";
}

Result<std::unique_ptr<Browser>> Browser::launch(int width, int height) {
  std::string chromium = binary();
  if (chromium.empty()) return Error(StatusCode::kNotFound, "no chromium on PATH (set MANTLE_CHROMIUM)");
  std::unique_ptr<Browser> browser(new Browser());
  const std::filesystem::path in = browser->dir_.path() / "to-browser", out = browser->dir_.path() / "from-browser";
  if (::mkfifo(in.c_str(), 0600) != 0 || ::mkfifo(out.c_str(), 0600) != 0) {
    return Error(StatusCode::kInternal, "mkfifo failed in " + browser->dir_.path().string());
  }
  // The shell opens the FIFOs as fds 3 and 4, which is where
  // --remote-debugging-pipe expects them, then becomes the browser.
  std::string command = "exec '" + chromium + "' --headless --no-sandbox --disable-gpu --disable-dev-shm-usage" +
                        " --no-first-run --no-default-browser-check --disable-extensions --disable-sync" +
                        " --hide-scrollbars --mute-audio --remote-debugging-pipe --user-data-dir='" +
                        (browser->dir_.path() / "profile").string() + "' --window-size=" + std::to_string(width) + "," +
                        std::to_string(height) + " about:blank 3<'" + in.string() + "' 4>'" + out.string() + "'";
  browser->process_ = std::make_unique<ChildProcess>(std::vector<std::string>{"/bin/sh", "-c", command},
                                                     browser->dir_.path() / "chromium.log");
  // Each open blocks until the other side opens: the order matches the shell's.
  browser->toBrowser_ = ::open(in.c_str(), O_WRONLY | O_CLOEXEC);
  browser->fromBrowser_ = ::open(out.c_str(), O_RDONLY | O_CLOEXEC);
  if (browser->toBrowser_ < 0 || browser->fromBrowser_ < 0) {
    return Error(StatusCode::kInternal, "cannot open the DevTools pipes: " + browser->log());
  }
  Json::Value create;
  create["url"] = "about:blank";
  Result<Json::Value> target = browser->call("Target.createTarget", create, false);
  if (!target.ok()) return target.error();
  Json::Value attach;
  attach["targetId"] = (*target)["targetId"];
  attach["flatten"] = true;
  Result<Json::Value> session = browser->call("Target.attachToTarget", attach, false);
  if (!session.ok()) return session.error();
  browser->session_ = (*session)["sessionId"].asString();
  for (const char* domain : {"Page.enable", "Runtime.enable"}) {
    if (Result<Json::Value> enabled = browser->call(domain, Json::objectValue); !enabled.ok()) return enabled.error();
  }
  Json::Value metrics;
  metrics["width"] = width;
  metrics["height"] = height;
  metrics["deviceScaleFactor"] = 1;
  metrics["mobile"] = false;
  if (Result<Json::Value> set = browser->call("Emulation.setDeviceMetricsOverride", metrics); !set.ok()) {
    return set.error();
  }
  return browser;
}

Browser::~Browser() {
  if (toBrowser_ >= 0) ::close(toBrowser_);
  if (fromBrowser_ >= 0) ::close(fromBrowser_);
  if (process_) process_->stop(std::chrono::milliseconds(2000));
}

Result<Json::Value> Browser::readMessage(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    std::size_t end = buffer_.find('\0');
    if (end != std::string::npos) {
      std::string text = buffer_.substr(0, end);
      buffer_.erase(0, end + 1);
      Json::Value message;
      Json::CharReaderBuilder builder;
      std::string errors;
      std::istringstream stream(text);
      if (!Json::parseFromStream(builder, stream, &message, &errors)) {
        return Error(StatusCode::kInternal, "unreadable DevTools message: " + errors);
      }
      return message;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Error(StatusCode::kDeadlineExceeded, "no answer from the browser");
    pollfd pfd{fromBrowser_, POLLIN, 0};
    if (::poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    char chunk[65536];
    ssize_t n = ::read(fromBrowser_, chunk, sizeof chunk);
    if (n <= 0) return Error(StatusCode::kUnavailable, "the browser went away: " + log());
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }
}

Result<Json::Value> Browser::call(const std::string& method, const Json::Value& params, bool inPage,
                                  std::chrono::milliseconds timeout) {
  Json::Value message;
  const int id = nextId_++;
  message["id"] = id;
  message["method"] = method;
  message["params"] = params;
  if (inPage) message["sessionId"] = session_;
  std::string text = compact(message);
  text.push_back('\0');
  for (std::size_t written = 0; written < text.size();) {
    ssize_t n = ::write(toBrowser_, text.data() + written, text.size() - written);
    if (n <= 0) return Error(StatusCode::kUnavailable, "cannot write to the browser: " + log());
    written += static_cast<std::size_t>(n);
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    Result<Json::Value> answer = readMessage(left);
    if (!answer.ok()) return answer.error().withContext(method);
    if ((*answer)["method"].asString() == "Page.loadEventFired") loaded_ = true;
    if (!answer->isMember("id") || (*answer)["id"].asInt() != id) continue;  // an event or another call
    if (answer->isMember("error")) {
      return Error(StatusCode::kInternal, method + ": " + (*answer)["error"]["message"].asString());
    }
    return (*answer)["result"];
  }
}

Status Browser::navigate(const std::string& url) {
  loaded_ = false;
  Json::Value params;
  params["url"] = url;
  Result<Json::Value> navigated = call("Page.navigate", params);
  if (!navigated.ok()) return navigated.error();
  if (navigated->isMember("errorText")) {
    return Error(StatusCode::kUnavailable, "cannot load " + url + ": " + (*navigated)["errorText"].asString());
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!loaded_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    Result<Json::Value> event = readMessage(left);
    if (!event.ok()) return event.error().withContext("loading " + url);
    if ((*event)["method"].asString() == "Page.loadEventFired") loaded_ = true;
  }
  return {};
}

Result<Json::Value> Browser::evaluate(const std::string& expression) {
  Json::Value params;
  params["expression"] = expression;
  params["returnByValue"] = true;
  params["awaitPromise"] = true;
  Result<Json::Value> result = call("Runtime.evaluate", params);
  if (!result.ok()) return result.error();
  if (result->isMember("exceptionDetails")) {
    const Json::Value& details = (*result)["exceptionDetails"];
    std::string what = details["exception"].isMember("description") ? details["exception"]["description"].asString()
                                                                    : details["text"].asString();
    return Error(StatusCode::kInvalidArgument, "in the page: " + what);
  }
  return (*result)["result"]["value"];
}

bool Browser::waitFor(const std::string& expression, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    Result<Json::Value> value = evaluate("!!(" + expression + ")");
    if (value.ok() && value->asBool()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

std::string Browser::text() {
  Result<Json::Value> value = evaluate("document.body ? document.body.innerText : ''");
  return value.ok() ? value->asString() : value.error().message;
}

Status Browser::screenshot(const std::filesystem::path& png) {
  Json::Value params;
  params["format"] = "png";
  Result<Json::Value> shot = call("Page.captureScreenshot", params);
  if (!shot.ok()) return shot.error();
  const std::string data = (*shot)["data"].asString();
  std::string bytes(3 * data.size() / 4 + 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(bytes.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  if (n < 0) return Error(StatusCode::kInternal, "the screenshot is not base64");
  std::size_t padding = data.size() >= 2 && data[data.size() - 1] == '=' ? (data[data.size() - 2] == '=' ? 2 : 1) : 0;
  bytes.resize(static_cast<std::size_t>(n) - padding);
  std::filesystem::create_directories(png.parent_path());
  std::ofstream file(png, std::ios::binary);
  file << bytes;
  if (!file) return Error(StatusCode::kInternal, "cannot write " + png.string());
  return {};
}

}  // namespace mantle::testing
