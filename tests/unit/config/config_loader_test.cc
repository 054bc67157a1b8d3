#include "config/config_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "config/config_schema.h"

namespace cesync::config {
namespace {

using ::testing::HasSubstr;

EnvLookup envOf(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

Result<Config> parse(const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return parseConfig(yaml, "cesync.yaml", envOf(std::move(env)));
}

TEST(ConfigLoaderTest, MinimalFileTakesDefaults) {
  auto c = parse("tables:\n  - table: shop.product\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->cassandra.contact_points, std::vector<std::string>{"127.0.0.1:9042"});
  EXPECT_EQ(c->cassandra.consistency, "LOCAL_QUORUM");
  EXPECT_EQ(c->search.urls, std::vector<std::string>{"http://127.0.0.1:9200"});
  EXPECT_EQ(c->search.bulk_max_bytes, 5u * 1024 * 1024);
  EXPECT_EQ(c->changelog.keyspace, "cesync");
  EXPECT_EQ(c->changelog.confidence_window, std::chrono::seconds(10));
  EXPECT_EQ(c->state.path, "cesync-state.db");
  EXPECT_TRUE(c->cassandra.tls.verify);
  ASSERT_EQ(c->tables.size(), 1u);
  const auto& t = c->tables[0];
  EXPECT_EQ(t.keyspace, "shop");
  EXPECT_EQ(t.table, "product");
  EXPECT_EQ(t.index, "shop_product");
  EXPECT_EQ(t.direction, Direction::kToSearch);
  EXPECT_EQ(t.line, 2);
}

TEST(ConfigLoaderTest, TheIssueExampleParses) {
  auto c = parse(R"(
cassandra: {contact_points: ["10.0.0.1:9042", "10.0.0.2:9042"], username: app, password: s3cret, consistency: QUORUM}
search:    {urls: ["https://search:9200"], api_key: abc, tls: {ca_file: /etc/ca.pem}}
changelog: {keyspace: cdc}
state:     {path: /var/lib/cesync/state.db}
tables:
  - table: shop.product          # keyspace.table
    index: Shop_Product
    direction: both
    timestamp_column: timestamp
)");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->cassandra.contact_points.size(), 2u);
  EXPECT_EQ(c->cassandra.password, "s3cret");
  EXPECT_EQ(c->cassandra.consistency, "QUORUM");
  EXPECT_EQ(c->search.tls.ca_file, "/etc/ca.pem");
  EXPECT_EQ(c->changelog.keyspace, "cdc");
  EXPECT_EQ(c->tables[0].index, "shop_product") << "index names are lower-cased";
  EXPECT_EQ(c->tables[0].direction, Direction::kBoth);
  EXPECT_EQ(c->tables[0].timestamp_column, "timestamp");
}

TEST(ConfigLoaderTest, UnknownKeyNamesKeyLineAndSuggestion) {
  auto c = parse("cassandra:\n  contact_point: [a]\ntables:\n  - table: a.b\n");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::kConfig);
  EXPECT_EQ(c.error().message,
            "cesync.yaml:2:3: key 'cassandra.contact_point': unknown key (did you mean "
            "'cassandra.contact_points'?)");
}

TEST(ConfigLoaderTest, UnknownTableKeyAndSection) {
  auto c = parse("serch: {}\ntables:\n  - table: a.b\n    directon: both\n");
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message, HasSubstr("cesync.yaml:1:1: key 'serch': unknown key"));
  EXPECT_THAT(c.error().message,
              HasSubstr("cesync.yaml:4:5: key 'tables[0].directon': unknown key (did you mean "
                        "'tables[0].direction'?)"));
}

TEST(ConfigLoaderTest, RepeatedKeysAreRefused) {
  auto c = parse(
      "search: {urls: [\"http://a:9200\"]}\ntables:\n  - table: a.b\n    index: x\n"
      "    index: y\nsearch: {}\n");
  ASSERT_FALSE(c);
  EXPECT_THAT(
      c.error().message,
      HasSubstr("cesync.yaml:5:5: key 'tables[0].index': is given twice (first on line 4)"));
  EXPECT_THAT(c.error().message,
              HasSubstr("cesync.yaml:6:1: key 'search': is given twice (first on line 1)"));
}

TEST(ConfigLoaderTest, SystemKeyspacesAreRefused) {
  auto c = parse("tables:\n  - table: system_auth.roles\n  - table: System.local\n");
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message,
              HasSubstr("cesync.yaml:2:12: key 'tables[0].table': system_auth is one of "
                        "Cassandra's own keyspaces"));
  EXPECT_THAT(c.error().message, HasSubstr("key 'tables[1].table': System is one of"));
}

TEST(ConfigLoaderTest, TableKeysAreNamedWithTheirTable) {
  auto c = parse("tables:\n  - table: a.b\n  - table: a.c\n    direction: sideways\n");
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message,
              HasSubstr("cesync.yaml:4:16: key 'tables[1].direction': expected one of"));
}

TEST(ConfigLoaderTest, WrongTypesAreReportedWithTheirPlace) {
  auto c = parse(
      "cassandra:\n  max_in_flight: many\n  request_timeout: 10 seconds\n"
      "search:\n  gzip: yes please\n  bulk_max_bytes: 5MB\n"
      "log: {level: loud}\n"
      "tables:\n  - table: a.b\n");
  ASSERT_FALSE(c);
  const auto& m = c.error().message;
  EXPECT_THAT(m, HasSubstr("cesync.yaml:2:18: key 'cassandra.max_in_flight': expected a whole "
                           "number >= 0, got 'many'"));
  EXPECT_THAT(m, HasSubstr("cesync.yaml:3:20: key 'cassandra.request_timeout': expected a "
                           "duration"));
  EXPECT_THAT(m, HasSubstr("key 'search.gzip': expected true or false"));
  EXPECT_THAT(m, HasSubstr("key 'search.bulk_max_bytes': expected a size"));
  EXPECT_THAT(m, HasSubstr("key 'log.level': expected one of trace, debug, info, warn, error"));
}

TEST(ConfigLoaderTest, ListWhereScalarExpected) {
  auto c = parse("state: {path: [a, b]}\ntables:\n  - table: a.b\n");
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message, HasSubstr("key 'state.path': expected a single value"));
}

TEST(ConfigLoaderTest, TwoWayTableNeedsTimestampColumn) {
  auto c = parse("tables:\n  - table: shop.product\n    direction: to_cassandra\n");
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message,
              HasSubstr("cesync.yaml:2:5: key 'tables[0].timestamp_column': is required when "
                        "direction is to_cassandra"));
}

TEST(ConfigLoaderTest, TableMistakes) {
  auto c = parse(
      "tables:\n  - index: x\n  - table: nodot\n  - table: a.b\n  - table: a.b\n  - just text\n");
  ASSERT_FALSE(c);
  const auto& m = c.error().message;
  EXPECT_THAT(m, HasSubstr("key 'tables[0].table': is required"));
  EXPECT_THAT(m, HasSubstr("cesync.yaml:3:12: key 'tables[1].table': expected keyspace.table"));
  EXPECT_THAT(m, HasSubstr("key 'tables[3].table': a.b is listed twice"));
  EXPECT_THAT(m, HasSubstr("cesync.yaml:6:5: key 'tables[4]': expected a mapping"));
}

TEST(ConfigLoaderTest, MissingTablesAndEmptyFile) {
  EXPECT_THAT(parse("state: {path: x}\n").error().message, HasSubstr("key 'tables': is required"));
  EXPECT_THAT(parse("").error().message, HasSubstr("the file is empty"));
}

TEST(ConfigLoaderTest, BadYamlGivesLineAndColumn) {
  auto c = parse("tables:\n  - table: [a.b\n");
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message, HasSubstr("cesync.yaml:3:1: not valid YAML"));
}

TEST(ConfigLoaderTest, EnvironmentOverridesSecrets) {
  auto c = parse("cassandra: {username: app, password: from-file}\ntables:\n  - table: a.b\n",
                 {{"CESYNC_CASSANDRA_PASSWORD", "from-env"},
                  {"CESYNC_SEARCH_API_KEY", "key"},
                  {"CESYNC_LOG_LEVEL", "debug"}});
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->cassandra.password, "from-env");
  EXPECT_EQ(c->search.api_key, "key");
  EXPECT_EQ(c->log.level, "debug");
}

TEST(ConfigLoaderTest, BadEnvironmentValueNamesTheVariable) {
  auto c = parse("tables:\n  - table: a.b\n", {{"CESYNC_LOG_LEVEL", "chatty"}});
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message,
              HasSubstr("key 'log.level': from environment variable CESYNC_LOG_LEVEL"));
}

TEST(ConfigLoaderTest, UrlsMustBeHttp) {
  auto c = parse("search:\n  urls: [\"localhost:9200\"]\ntables:\n  - table: a.b\n");
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message,
              HasSubstr("cesync.yaml:2:9: key 'search.urls': 'localhost:9200' must start with"));
}

TEST(ConfigLoaderTest, ChangelogTimingsMustFit) {
  auto c =
      parse("changelog: {settle_time: 20s, confidence_window: 10s}\ntables:\n  - table: a.b\n");
  ASSERT_FALSE(c);
  EXPECT_THAT(c.error().message,
              HasSubstr("cesync.yaml:1:26: key 'changelog.settle_time': must not exceed"));
  auto ok = parse("tables:\n  - table: a.b\n");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->changelog.shards, 8U);
  EXPECT_EQ(ok->changelog.bucket_width, std::chrono::seconds(60));
  EXPECT_EQ(ok->changelog.ttl, std::chrono::hours(24 * 7));
}

TEST(ConfigLoaderTest, DurationsAndSizes) {
  auto c = parse(
      "changelog: {confidence_window: 2m, poll_interval: 50ms}\n"
      "search: {bulk_max_bytes: 512KiB, request_timeout: 1h}\n"
      "tables:\n  - table: a.b\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->changelog.confidence_window, std::chrono::minutes(2));
  EXPECT_EQ(c->changelog.poll_interval, std::chrono::milliseconds(50));
  EXPECT_EQ(c->search.bulk_max_bytes, 512u * 1024);
  EXPECT_EQ(c->search.request_timeout, std::chrono::hours(1));
}

TEST(ConfigLoaderTest, PrintedDefaultsParseBackToTheDefaults) {
  const std::string text = renderDefaults();
  auto c = parse(text);
  ASSERT_TRUE(c) << c.error().message << "\n" << text;
  auto plain = parse("tables:\n  - table: shop.product\n");
  ASSERT_TRUE(plain);
  EXPECT_EQ(c->cassandra.contact_points, plain->cassandra.contact_points);
  EXPECT_EQ(c->search.bulk_max_bytes, plain->search.bulk_max_bytes);
  EXPECT_EQ(c->tables[0].index, plain->tables[0].index);
  for (const auto& f : configSchema()) {
    const auto leaf = f.key.substr(f.key.rfind('.') + 1);
    EXPECT_THAT(text, HasSubstr(std::string(leaf) + ":")) << f.key;
  }
}

TEST(ConfigReferenceTest, DocsConfigMdIsTheGeneratedReference) {
  std::ifstream in(CESYNC_SOURCE_DIR "/docs/CONFIG.md");
  ASSERT_TRUE(in) << "docs/CONFIG.md is missing";
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), renderReference())
      << "docs/CONFIG.md is out of date: build/src/cli/cesync config print-reference > "
         "docs/CONFIG.md";
}

}  // namespace
}  // namespace cesync::config
