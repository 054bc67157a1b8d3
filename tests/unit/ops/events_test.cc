#include "ops/events.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace cesync::ops {
namespace {

TEST(EventsTest, TheTableFollowsTheEnumAndNamesAreUnique) {
  std::set<std::string_view> names;
  std::set<std::string_view> metrics;
  const std::regex metric_name("[a-z_][a-z0-9_]*");
  for (std::size_t i = 0; i < eventSpecs().size(); ++i) {
    const auto& spec = eventSpecs()[i];
    EXPECT_EQ(static_cast<std::size_t>(spec.event), i) << spec.name;
    EXPECT_TRUE(names.insert(spec.name).second) << "two events named " << spec.name;
    if (spec.kind == MetricKind::kNone) {
      EXPECT_TRUE(spec.metric.empty()) << spec.name;
      EXPECT_NE(spec.level, Severity::kNone) << spec.name << " neither logs nor counts";
      continue;
    }
    EXPECT_TRUE(metrics.insert(spec.metric).second) << "two events count " << spec.metric;
    EXPECT_TRUE(std::regex_match(std::string(spec.metric), metric_name)) << spec.metric;
    EXPECT_FALSE(spec.help.empty()) << spec.metric;
    const bool total = spec.metric.ends_with("_total");
    EXPECT_EQ(total, spec.kind == MetricKind::kCounter) << spec.metric;
  }
}

TEST(EventsTest, CountsSetsAndRaisesTotalsPerLabel) {
  Events events;
  events.count(Event::kDocumentsIndexed, {"ks.a"}, 3);
  events.count(Event::kDocumentsIndexed, {"ks.a"});
  events.count(Event::kDocumentsIndexed, {"ks.b"}, 2);
  events.set(Event::kLag, {"ks.a"}, 1.5);
  events.total(Event::kSearchRequests, {}, 10);
  events.total(Event::kSearchRequests, {}, 7);  // a smaller total changes nothing
  EXPECT_EQ(events.value(Event::kDocumentsIndexed, {"ks.a"}), 4);
  EXPECT_EQ(events.value(Event::kDocumentsIndexed, {"ks.b"}), 2);
  EXPECT_EQ(events.value(Event::kLag, {"ks.a"}), 1.5);
  EXPECT_EQ(events.value(Event::kSearchRequests, {}), 10);
  EXPECT_EQ(events.value(Event::kDocumentsDeleted, {"ks.a"}), 0);

  const std::string text = events.prometheus();
  EXPECT_NE(text.find("# TYPE cesync_documents_indexed_total counter"), std::string::npos);
  EXPECT_NE(text.find("cesync_documents_indexed_total{table=\"ks.a\"} 4"), std::string::npos)
      << text;
  EXPECT_NE(text.find("cesync_lag_seconds{table=\"ks.a\"} 1.5"), std::string::npos) << text;
  EXPECT_NE(text.find("cesync_search_requests_total 10"), std::string::npos) << text;
}

TEST(EventsTest, LoggingAnEventCountsIt) {
  Events events;
  events.log(Event::kStreamFailed, {}, "streaming: refused");
  events.log(Event::kDeadLetters, {"ks.a"}, "3 rows refused", 3);
  events.log(Event::kStarting, {}, "starting");  // logs only
  EXPECT_EQ(events.value(Event::kStreamFailed, {}), 1);
  EXPECT_EQ(events.value(Event::kDeadLetters, {"ks.a"}), 3);
}

TEST(EventsTest, ForgetDropsATablesSeries) {
  Events events;
  events.count(Event::kDocumentsIndexed, {"ks.a"});
  events.set(Event::kLag, {"ks.a"}, 2);
  events.count(Event::kDocumentsIndexed, {"ks.b"});
  events.forget("table", "ks.a");
  const std::string text = events.prometheus();
  EXPECT_EQ(text.find("ks.a"), std::string::npos) << text;
  EXPECT_NE(text.find("ks.b"), std::string::npos) << text;
}

TEST(EventsTest, LabelValuesAreEscaped) {
  Events events;
  events.count(Event::kDocumentsIndexed, {"ks.\"odd\\name\n"});
  EXPECT_NE(events.prometheus().find(R"(table="ks.\"odd\\name\n")"), std::string::npos)
      << events.prometheus();
}

TEST(EventsTest, OperationsGuideListsEveryMetric) {
  std::ifstream in(CESYNC_SOURCE_DIR "/docs/OPERATIONS.md");
  ASSERT_TRUE(in) << "docs/OPERATIONS.md is missing";
  std::stringstream text;
  text << in.rdbuf();
  for (const auto& spec : eventSpecs()) {
    if (!spec.metric.empty()) {
      EXPECT_NE(text.str().find("`" + std::string(spec.metric) + "`"), std::string::npos)
          << "docs/OPERATIONS.md does not describe " << spec.metric;
    }
  }
}

}  // namespace
}  // namespace cesync::ops
