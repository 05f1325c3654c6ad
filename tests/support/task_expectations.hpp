// Expectations on a task's terminal update (a std::optional<TaskStatus>,
// nullopt when none came) for the end-to-end tests.
#pragma once

#include <gtest/gtest.h>

// Evaluates `expression` once (it often launches the task and waits for it:
// evaluating it again would launch the task again under the same id) and
// expects TASK_FINISHED, printing the update's message otherwise.
#define EXPECT_FINISHED(expression)                                                    \
  do {                                                                                 \
    const auto finished_ = (expression);                                               \
    ASSERT_TRUE(finished_.has_value()) << "no terminal update";                        \
    EXPECT_EQ(finished_->state(), ::mesos::v1::TASK_FINISHED) << finished_->message(); \
  } while (false)
