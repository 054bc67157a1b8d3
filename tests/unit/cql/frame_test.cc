#include <gtest/gtest.h>

#include <random>

#include "cql/frame/envelope.h"
#include "cql/frame/lz4_codec.h"
#include "cql/frame/segment.h"
#include "test_bytes.h"

namespace cesync::cql {
namespace {

using testing::hex;

TEST(EnvelopeTest, EncodesTheNineByteHeader) {
  Bytes out;
  encodeEnvelope(0x04, 0, 7, Opcode::kOptions, {}, false, out);
  EXPECT_EQ(out, hex("04 00 0007 05 00000000"));
}

TEST(EnvelopeTest, DecodesWhenFedOneByteAtATime) {
  const Bytes wire = hex("84 00 0001 02 00000000  85 08 ffff 0c 00000003 616263");
  EnvelopeDecoder d;
  std::vector<Envelope> out;
  for (const auto b : wire) {
    ASSERT_TRUE(d.feed(ByteView(&b, 1), out).has_value());
  }
  ASSERT_EQ(out.size(), 2U);
  EXPECT_EQ(out[0].opcode(), Opcode::kReady);
  EXPECT_EQ(out[0].header.stream, 1);
  EXPECT_TRUE(out[0].header.isResponse());
  EXPECT_EQ(out[1].header.stream, -1);
  EXPECT_EQ(out[1].header.protocolVersion(), 5);
  EXPECT_EQ(out[1].body, hex("616263"));
  EXPECT_EQ(d.buffered(), 0U);
}

TEST(EnvelopeTest, GarbageIsAProtocolError) {
  EnvelopeDecoder d;
  std::vector<Envelope> out;
  const auto bad_version = d.feed(hex("48 54 54 50 2f 31 2e 31 20"), out);  // "HTTP/1.1 "
  ASSERT_FALSE(bad_version.has_value());
  EXPECT_EQ(bad_version.error().code, ErrorCode::kProtocol);

  EnvelopeDecoder small(1024);
  const auto too_long = small.feed(hex("84 00 0001 08 00100000"), out);
  ASSERT_FALSE(too_long.has_value());
  EXPECT_EQ(too_long.error().code, ErrorCode::kProtocol);

  EnvelopeDecoder d2;
  const auto bad_opcode = d2.feed(hex("84 00 0001 04 00000000"), out);
  EXPECT_FALSE(bad_opcode.has_value());
  EXPECT_TRUE(out.empty());
}

TEST(EnvelopeTest, TruncatedEnvelopeWaitsForMoreBytes) {
  EnvelopeDecoder d;
  std::vector<Envelope> out;
  ASSERT_TRUE(d.feed(hex("84 00 0001 08 00000004 0000"), out).has_value());
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(d.buffered(), 11U);
  ASSERT_TRUE(d.feed(hex("0001"), out).has_value());
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(out[0].body, hex("00000001"));
}

TEST(EnvelopeTest, V4Lz4BodiesRoundTrip) {
  const std::string text(2000, 'x');
  Bytes wire;
  encodeEnvelope(0x84, 0, 3, Opcode::kResult, asBytes(text), true, wire);
  EXPECT_LT(wire.size(), 200U);
  EXPECT_EQ(wire[1] & kFlagCompression, kFlagCompression);
  EnvelopeDecoder d;
  d.setV4Compression(true);
  std::vector<Envelope> out;
  ASSERT_TRUE(d.feed(wire, out).has_value());
  ASSERT_EQ(out.size(), 1U);
  EXPECT_EQ(asChars(out[0].body), text);
}

TEST(EnvelopeTest, CorruptLz4IsAnErrorNotACrash) {
  Bytes wire = hex("84 01 0001 08 0000000a 00000100 ffffffffffff");
  EnvelopeDecoder d;
  d.setV4Compression(true);
  std::vector<Envelope> out;
  EXPECT_FALSE(d.feed(wire, out).has_value());
  EXPECT_FALSE(lz4DecompressV4Body(hex("7fffffff 00"), 1 << 20).has_value());
}

TEST(SegmentTest, UncompressedFrameLayout) {
  Bytes out;
  encodeSegment(hex("0102030405"), true, false, out);
  // Header: 5 | self-contained << 17, little-endian, then its CRC24 (0x9a9919) little-endian.
  ASSERT_EQ(out.size(), 6U + 5U + 4U);
  EXPECT_EQ(Bytes(out.begin(), out.begin() + 6), hex("050002 19999a"));
  SegmentDecoder d(false);
  std::vector<Segment> segs;
  ASSERT_TRUE(d.feed(out, segs).has_value());
  ASSERT_EQ(segs.size(), 1U);
  EXPECT_TRUE(segs[0].self_contained);
  EXPECT_EQ(segs[0].payload, hex("0102030405"));
}

TEST(SegmentTest, EveryFlippedBitIsDetected) {
  Bytes good;
  encodeSegment(hex("0102030405"), true, false, good);
  for (std::size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes bad = good;
      bad[i] = static_cast<std::uint8_t>(bad[i] ^ (1U << bit));
      SegmentDecoder d(false);
      std::vector<Segment> segs;
      const auto st = d.feed(bad, segs);
      // A flipped length bit may leave the decoder waiting for more; it must never accept it.
      EXPECT_TRUE(segs.empty()) << "byte " << i << " bit " << bit;
      if (!st) {
        EXPECT_EQ(st.error().code, ErrorCode::kProtocol);
      }
    }
  }
}

TEST(SegmentTest, CompressedRoundTripAndIncompressiblePayloads) {
  std::mt19937 rng(7);
  Bytes random_bytes(5000);
  for (auto& b : random_bytes) {
    b = static_cast<std::uint8_t>(rng());
  }
  const Bytes repeated(5000, 0x61);
  const Bytes& random = random_bytes;
  const Bytes& text = repeated;
  for (const Bytes* payload : {&random, &text}) {
    Bytes out;
    encodeSegment(*payload, true, true, out);
    SegmentDecoder d(true);
    std::vector<Segment> segs;
    ASSERT_TRUE(d.feed(out, segs).has_value());
    ASSERT_EQ(segs.size(), 1U);
    EXPECT_EQ(segs[0].payload, *payload);
  }
}

TEST(SegmentTest, LargeEnvelopesSpanNonSelfContainedFrames) {
  for (const bool compress : {false, true}) {
    SegmentEncoder enc(compress);
    Bytes wire;
    const Bytes small = hex("05 00 0001 05 00000000");
    Bytes big;
    encodeEnvelope(0x05, 0, 2, Opcode::kQuery, Bytes(300000, 'q'), false, big);
    enc.addEnvelope(small, wire);
    enc.addEnvelope(big, wire);
    enc.addEnvelope(small, wire);
    enc.flush(wire);
    SegmentDecoder d(compress);
    std::vector<Segment> segs;
    ASSERT_TRUE(d.feed(wire, segs).has_value());
    ASSERT_EQ(segs.size(), 5U) << "small, 3 parts of big, small";
    EXPECT_TRUE(segs[0].self_contained);
    EXPECT_FALSE(segs[1].self_contained);
    EXPECT_FALSE(segs[3].self_contained);
    EXPECT_TRUE(segs[4].self_contained);
    EnvelopeDecoder envs;
    std::vector<Envelope> out;
    for (const auto& s : segs) {
      ASSERT_TRUE(envs.feed(s.payload, out).has_value());
    }
    ASSERT_EQ(out.size(), 3U);
    EXPECT_EQ(out[1].body.size(), 300000U);
  }
}

}  // namespace
}  // namespace cesync::cql
