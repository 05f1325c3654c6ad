// Expectations on a task's terminal update (a std::optional<TaskStatus>,
// nullopt when none came) for the end-to-end tests, and running a task to
// its end.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>

namespace mantle::testing {

// Launches the task `taskId` through `framework` (a test framework with
// launch(taskId, launchArgs...) answering a Status and waitForState) and
// waits up to 60 s for its terminal update: nullopt, and a failure of the
// test, where the launch failed; nullopt where no terminal update came.
template <typename Framework, typename... LaunchArgs>
auto runToEnd(Framework& framework, const std::string& taskId, LaunchArgs&&... launchArgs)
    -> decltype(framework.waitForState(taskId, std::nullopt, std::chrono::seconds(60))) {
  const auto launched = framework.launch(taskId, std::forward<LaunchArgs>(launchArgs)...);
  EXPECT_TRUE(launched.ok()) << taskId << ": " << launched.error().message;
  if (!launched.ok()) return std::nullopt;
  return framework.waitForState(taskId, std::nullopt, std::chrono::seconds(60));
}

}  // namespace mantle::testing

// Evaluates `expression` once (it often launches the task and waits for it:
// evaluating it again would launch the task again under the same id) and
// expects TASK_FINISHED, printing the update's message otherwise.
#define EXPECT_FINISHED(expression)                                                    \
  do {                                                                                 \
    const auto finished_ = (expression);                                               \
    ASSERT_TRUE(finished_.has_value()) << "no terminal update";                        \
    EXPECT_EQ(finished_->state(), ::mesos::v1::TASK_FINISHED) << finished_->message(); \
  } while (false)
