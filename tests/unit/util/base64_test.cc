#include "util/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace cesync::util {
namespace {

TEST(Base64Test, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},
      {"f", "Zg=="},
      {"fo", "Zm8="},
      {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="},
      {"fooba", "Zm9vYmE="},
      {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64Encode(plain), encoded);
    auto decoded = base64Decode(encoded);
    ASSERT_TRUE(decoded) << decoded.error().toString();
    EXPECT_EQ(*decoded, plain);
  }
}

TEST(Base64Test, AllByteValuesRoundTrip) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) {
    bytes.push_back(static_cast<char>(i));
  }
  const std::string encoded = base64Encode(bytes);
  EXPECT_EQ(encoded.substr(0, 8), "AAECAwQF");
  EXPECT_EQ(encoded.find_first_not_of(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="),
            std::string::npos);
  auto decoded = base64Decode(encoded);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, bytes);
}

TEST(Base64Test, RejectsMalformedInput) {
  EXPECT_FALSE(base64Decode("Zm9"));       // length
  EXPECT_FALSE(base64Decode("Zm9v!A=="));  // alphabet
  EXPECT_FALSE(base64Decode("Zh=="));      // non-zero padding bits
  EXPECT_FALSE(base64Decode("Z==="));      // too much padding
  EXPECT_FALSE(base64Decode("Zg==Zm9v"));  // padding in the middle
  EXPECT_EQ(base64Decode("Zm9v!A==").error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace cesync::util
