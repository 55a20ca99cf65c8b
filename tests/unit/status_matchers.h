// IsOk(status): a gtest assertion on a Status or Result<T> that prints the
// error (ToString(), as an operator would read it) when it is not ok, so
// `ASSERT_TRUE(IsOk(backend->Install(plan)));` says why it failed.
#pragma once

#include <gtest/gtest.h>

#include "common/status.h"

namespace flightwall {

inline ::testing::AssertionResult IsOk(const Status& status) {
  if (status.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << status.ToString();
}

template <typename T>
::testing::AssertionResult IsOk(const Result<T>& result) {
  return IsOk(result.status());
}

}  // namespace flightwall
