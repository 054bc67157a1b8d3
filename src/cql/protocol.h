#pragma once

#include <cstdint>
#include <string_view>

namespace cesync::cql {

/// Native protocol versions this client speaks.
enum class ProtocolVersion : std::uint8_t { kV4 = 4, kV5 = 5 };

/// Message opcodes (native protocol v4/v5 section 2.4).
enum class Opcode : std::uint8_t {
  kError = 0x00,
  kStartup = 0x01,
  kReady = 0x02,
  kAuthenticate = 0x03,
  kOptions = 0x05,
  kSupported = 0x06,
  kQuery = 0x07,
  kResult = 0x08,
  kPrepare = 0x09,
  kExecute = 0x0A,
  kRegister = 0x0B,
  kEvent = 0x0C,
  kBatch = 0x0D,
  kAuthChallenge = 0x0E,
  kAuthResponse = 0x0F,
  kAuthSuccess = 0x10,
};

/// Opcode name for messages and logs; "opcode 0x.." for values outside the protocol.
std::string_view opcodeName(Opcode op);

/// Consistency levels ([consistency] notation).
enum class Consistency : std::uint16_t {
  kAny = 0x0000,
  kOne = 0x0001,
  kTwo = 0x0002,
  kThree = 0x0003,
  kQuorum = 0x0004,
  kAll = 0x0005,
  kLocalQuorum = 0x0006,
  kEachQuorum = 0x0007,
  kSerial = 0x0008,
  kLocalSerial = 0x0009,
  kLocalOne = 0x000A,
};

/// "LOCAL_QUORUM" etc.
std::string_view consistencyName(Consistency c);

/// Envelope header flags.
inline constexpr std::uint8_t kFlagCompression = 0x01;
inline constexpr std::uint8_t kFlagTracing = 0x02;
inline constexpr std::uint8_t kFlagCustomPayload = 0x04;
inline constexpr std::uint8_t kFlagWarning = 0x08;
inline constexpr std::uint8_t kFlagBeta = 0x10;

/// Size of an envelope header, and the largest body the protocol allows (256 MiB).
inline constexpr std::size_t kEnvelopeHeaderSize = 9;
inline constexpr std::uint32_t kMaxEnvelopeBody = 256U * 1024U * 1024U;

}  // namespace cesync::cql
