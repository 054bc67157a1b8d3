// Runs the frame decoder fuzz target without libFuzzer (any compiler): valid seed messages,
// then random mutations of them (bit flips, truncations, splices, random bytes) for a bounded
// time. Used as a short smoke test in every build; the libFuzzer build (CESYNC_FUZZ) explores
// far deeper.
//   cql_frame_fuzz_smoke [seconds] [seed]
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "cql/frame/envelope.h"
#include "cql/frame/segment.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

using cesync::cql::Bytes;

std::vector<Bytes> seeds() {
  using namespace cesync::cql;
  // A Rows result: ks.t (k int, v list<frozen<map<text, int>>>), one row.
  const Bytes rows = {0,    0, 0,   2,   0, 0,   0, 1, 0, 0, 0,   2, 0,    2, 'k',  's',
                      0,    1, 't', 0,   1, 'k', 0, 9, 0, 1, 'v', 0, 0x20, 0, 0x21, 0,
                      0x0d, 0, 9,   0,   0, 0,   1, 0, 0, 0, 4,   0, 0,    0, 7,    0,
                      0,    0, 21,  0,   0, 0,   1, 0, 0, 0, 13,  0, 0,    0, 1,    0,
                      0,    0, 1,   'a', 0, 0,   0, 4, 0, 0, 0,   5};
  const Bytes error = {0, 0, 0x25, 0, 0, 2, 'n', 'o', 0, 2, 0xab, 0xcd};
  std::vector<Bytes> out{rows, error};
  Bytes v4;
  encodeEnvelope(0x84, 0, 1, Opcode::kResult, rows, false, v4);
  out.push_back(v4);
  Bytes v4lz4;
  encodeEnvelope(0x84, 0, 2, Opcode::kResult, rows, true, v4lz4);
  out.push_back(v4lz4);
  for (const bool compress : {false, true}) {
    Bytes env;
    encodeEnvelope(0x85, 0, 3, Opcode::kResult, rows, false, env);
    Bytes frame;
    encodeSegment(env, true, compress, frame);
    out.push_back(frame);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 3.0;
  const auto seed = static_cast<std::uint32_t>(argc > 2 ? std::atoi(argv[2]) : 1);
  std::mt19937 rng(seed);
  const auto corpus = seeds();
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  std::size_t runs = 0;
  for (const auto& s : corpus) {
    LLVMFuzzerTestOneInput(s.data(), s.size());
    ++runs;
  }
  while (std::chrono::steady_clock::now() < end) {
    for (int batch = 0; batch < 256; ++batch) {
      Bytes input = corpus[rng() % corpus.size()];
      const int edits = 1 + static_cast<int>(rng() % 8);
      for (int e = 0; e < edits; ++e) {
        switch (rng() % 5) {
          case 0:  // flip a bit
            if (!input.empty()) {
              input[rng() % input.size()] ^= static_cast<std::uint8_t>(1U << (rng() % 8));
            }
            break;
          case 1:  // truncate
            input.resize(input.empty() ? 0 : rng() % input.size());
            break;
          case 2:  // random byte value at a random place
            if (!input.empty()) {
              input[rng() % input.size()] = static_cast<std::uint8_t>(rng());
            }
            break;
          case 3: {  // splice in part of another seed
            const auto& other = corpus[rng() % corpus.size()];
            const std::size_t at = input.empty() ? 0 : rng() % input.size();
            input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), other.begin(),
                         other.begin() + static_cast<std::ptrdiff_t>(rng() % other.size()));
            break;
          }
          default:  // random tail
            for (std::uint32_t n = rng() % 16; n > 0; --n) {
              input.push_back(static_cast<std::uint8_t>(rng()));
            }
        }
      }
      LLVMFuzzerTestOneInput(input.data(), input.size());
      ++runs;
    }
  }
  std::printf("cql frame fuzz smoke: %zu inputs, no crash\n", runs);
  return 0;
}
