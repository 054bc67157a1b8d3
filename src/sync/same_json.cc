#include "sync/same_json.h"

#include <simdjson.h>

namespace cesync::sync {
namespace {

bool isInteger(simdjson::dom::element_type t) {
  return t == simdjson::dom::element_type::INT64 || t == simdjson::dom::element_type::UINT64;
}

bool isNumber(simdjson::dom::element_type t) {
  return isInteger(t) || t == simdjson::dom::element_type::DOUBLE;
}

double asDouble(simdjson::dom::element e) {
  switch (e.type()) {
    case simdjson::dom::element_type::INT64:
      return static_cast<double>(std::int64_t(e));
    case simdjson::dom::element_type::UINT64:
      return static_cast<double>(std::uint64_t(e));
    default:
      return double(e);
  }
}

bool sameIntegers(simdjson::dom::element a, simdjson::dom::element b) {
  using simdjson::dom::element_type;
  if (a.type() == b.type()) {
    return a.type() == element_type::INT64 ? std::int64_t(a) == std::int64_t(b)
                                           : std::uint64_t(a) == std::uint64_t(b);
  }
  // One signed, one unsigned: simdjson reads a value as unsigned only above INT64_MAX.
  return false;
}

bool sameElement(simdjson::dom::element a, simdjson::dom::element b) {
  using simdjson::dom::element_type;
  const auto ta = a.type();
  const auto tb = b.type();
  if (isNumber(ta) && isNumber(tb)) {
    if (isInteger(ta) && isInteger(tb)) {
      return sameIntegers(a, b);
    }
    return asDouble(a) == asDouble(b);
  }
  if (ta != tb) {
    return false;
  }
  switch (ta) {
    case element_type::ARRAY: {
      simdjson::dom::array xa = a;
      simdjson::dom::array xb = b;
      if (xa.size() != xb.size()) {
        return false;
      }
      auto ib = xb.begin();
      for (auto ea : xa) {
        if (!sameElement(ea, *ib)) {
          return false;
        }
        ++ib;
      }
      return true;
    }
    case element_type::OBJECT: {
      simdjson::dom::object oa = a;
      simdjson::dom::object ob = b;
      if (oa.size() != ob.size()) {
        return false;
      }
      for (auto field : oa) {
        simdjson::dom::element other;
        if (ob.at_key(field.key).get(other) != simdjson::SUCCESS ||
            !sameElement(field.value, other)) {
          return false;
        }
      }
      return true;
    }
    case element_type::STRING:
      return std::string_view(a) == std::string_view(b);
    case element_type::BOOL:
      return bool(a) == bool(b);
    case element_type::NULL_VALUE:
      return true;
    default:
      return false;
  }
}

}  // namespace

bool sameJson(std::string_view a, std::string_view b) {
  // Reused from one comparison to the next (a parser keeps its buffers).
  thread_local simdjson::dom::parser pa;
  thread_local simdjson::dom::parser pb;
  simdjson::dom::element ea;
  simdjson::dom::element eb;
  if (pa.parse(a.data(), a.size()).get(ea) != simdjson::SUCCESS ||
      pb.parse(b.data(), b.size()).get(eb) != simdjson::SUCCESS) {
    return false;
  }
  return sameElement(ea, eb);
}

}  // namespace cesync::sync
