#include "common/logging.h"

#include <gtest/gtest.h>

namespace cesync {
namespace {

TEST(LoggingTest, RedactsEverySecretEverywhere) {
  addSecret("hunter2");
  addSecret("");  // ignored
  addSecret("k3y:with\"quote");
  EXPECT_EQ(redactSecrets("login cassandra/hunter2 failed; again hunter2"),
            "login cassandra/*** failed; again ***");
  EXPECT_EQ(redactSecrets("api key k3y:with\"quote"), "api key ***");
  EXPECT_EQ(redactSecrets("nothing to hide"), "nothing to hide");
  EXPECT_EQ(redactSecrets("hunter2hunter2"), "******");
}

}  // namespace
}  // namespace cesync
