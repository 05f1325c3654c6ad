// A real headless Chromium for tests and benchmarks, driven over the DevTools
// protocol through --remote-debugging-pipe (JSON messages ended by NUL on two
// FIFOs). One page; everything (browser processes, profile) is gone when the
// object goes away.
#pragma once

#include <json/json.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "mantle/result.hpp"
#include "process.hpp"
#include "temp_dir.hpp"

namespace mantle::testing {

class Browser {
 public:
  // The Chromium binary ($MANTLE_CHROMIUM, else chromium on PATH); "" when none.
  static std::string binary();
  // Starts the browser with one blank page of `width` x `height` CSS pixels.
  static Result<std::unique_ptr<Browser>> launch(int width = 1400, int height = 900);
  ~Browser();
  Browser(const Browser&) = delete;
  Browser& operator=(const Browser&) = delete;

  // Loads `url` and waits for its load event.
  Status navigate(const std::string& url);
  // Evaluates a JavaScript expression in the page (promises awaited) and
  // returns its value; an exception in the page is an Error with its text.
  Result<Json::Value> evaluate(const std::string& expression);
  // Evaluates `expression` every 100 ms until it is truthy; false on timeout.
  bool waitFor(const std::string& expression, std::chrono::milliseconds timeout);
  // The page's visible text (document.body.innerText), for failure messages.
  std::string text();
  // Writes a PNG of the viewport.
  Status screenshot(const std::filesystem::path& png);
  // The browser's own log (stderr).
  std::string log() const { return process_ ? process_->output() : ""; }

 private:
  Browser() = default;
  Result<Json::Value> call(const std::string& method, const Json::Value& params, bool inPage = true,
                           std::chrono::milliseconds timeout = std::chrono::seconds(30));
  Result<Json::Value> readMessage(std::chrono::milliseconds timeout);

  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
  int toBrowser_ = -1;
  int fromBrowser_ = -1;
  std::string buffer_;
  int nextId_ = 1;
  std::string session_;
  bool loaded_ = false;
};

}  // namespace mantle::testing
