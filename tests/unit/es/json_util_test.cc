#include "es/json_util.h"

#include <gtest/gtest.h>

#include <string>

namespace cesync::es {
namespace {

constexpr std::string_view kNotFound =
    R"({"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [x]"}],)"
    R"("type":"index_not_found_exception","reason":"no such index [x]","index":"x"},"status":404})";

TEST(JsonUtilTest, ErrorSummaryReadsTypeAndReason) {
  EXPECT_EQ(errorSummary(kNotFound), "index_not_found_exception: no such index [x]");
  EXPECT_EQ(errorSummary("plain text from a proxy"), "plain text from a proxy");
  EXPECT_EQ(errorSummary(std::string(1000, 'x')).size(), 300U) << "long bodies are cut";
  // A proxy's HTML page: its title, on one line.
  EXPECT_EQ(errorSummary("<html>\n<head><title>401 Authorization Required</title></head>\n<body>"
                         "<center><h1>401 Authorization Required</h1></center></body></html>\n"),
            "401 Authorization Required");
  EXPECT_EQ(errorSummary("line one\r\n  line two\n"), "line one line two");
}

TEST(JsonUtilTest, HttpErrorCodes) {
  EXPECT_EQ(httpError(401, "", "GET /").code, ErrorCode::kAuth);
  EXPECT_EQ(httpError(403, "", "GET /").code, ErrorCode::kAuth);
  EXPECT_EQ(httpError(404, kNotFound, "GET /x").code, ErrorCode::kNotFound);
  EXPECT_EQ(httpError(408, "", "GET /").code, ErrorCode::kTimeout);
  EXPECT_EQ(httpError(429, "", "GET /").code, ErrorCode::kUnavailable);
  EXPECT_EQ(httpError(503, "", "GET /").code, ErrorCode::kUnavailable);
  EXPECT_EQ(httpError(400, "", "GET /").code, ErrorCode::kRejected);
  const Error e = httpError(404, kNotFound, "GET /x/_mapping");
  EXPECT_EQ(e.message,
            "GET /x/_mapping answered HTTP 404: index_not_found_exception: no such index [x]");
}

TEST(JsonUtilTest, PaddedJsonCopiesOnlyWhenNeeded) {
  std::string roomy = R"({"a":1})";
  roomy.reserve(roomy.size() + 128);
  PaddedJson view(roomy, roomy.capacity());
  EXPECT_EQ(view.view().data(), roomy.data()) << "enough capacity: no copy";
  const std::string tight = R"({"a":1})";
  PaddedJson copy(tight, tight.size());
  EXPECT_NE(copy.view().data(), tight.data());
  EXPECT_EQ(std::string_view(copy.view()), tight);
}

}  // namespace
}  // namespace cesync::es
