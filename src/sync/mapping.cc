#include "sync/mapping.h"

#include <algorithm>

#include "util/json_writer.h"

namespace cesync::sync {
namespace {

using cql::CqlType;
using cql::TypeKind;
using util::JsonWriter;

// Types whose JSON is a single value (collections, tuples, UDTs and vectors have parameters; a
// duration becomes an object).
bool isScalar(const CqlType& t) {
  return t.params.empty() && t.kind != TypeKind::kDuration;
}

void typeOnly(JsonWriter& w, const char* type) {
  w.beginObject();
  w.key("type");
  w.value(type);
  w.endObject();
}

// An object kept in the source but not indexed (any JSON is accepted).
void sourceOnly(JsonWriter& w) {
  w.beginObject();
  w.key("type");
  w.value("object");
  w.key("enabled");
  w.value(false);
  w.endObject();
}

// Free-form keys (CQL maps): one field per key would grow the mapping without bound, so maps
// use the engine's single-field type for arbitrary objects where it has one.
void mapField(JsonWriter& w, const es::ServerInfo& server) {
  switch (server.flavour) {
    case es::Flavour::kOpenSearch:
      if (server.major > 2 || (server.major == 2 && server.minor >= 7)) {
        typeOnly(w, "flat_object");
        return;
      }
      break;
    case es::Flavour::kElasticsearch:
      if (server.major > 7 || (server.major == 7 && server.minor >= 3)) {
        typeOnly(w, "flattened");
        return;
      }
      break;
  }
  sourceOnly(w);
}

void field(JsonWriter& w, const CqlType& t, const es::ServerInfo& server);

void vectorField(JsonWriter& w, const CqlType& t, const es::ServerInfo& server) {
  const bool float_elements = !t.params.empty() && t.params[0]->kind == TypeKind::kFloat;
  if (float_elements && server.flavour == es::Flavour::kElasticsearch && server.major >= 8 &&
      t.dimension > 0 && t.dimension <= 4096) {
    // l2_norm accepts every vector; cosine would reject all-zero ones.
    w.beginObject();
    w.key("type");
    w.value("dense_vector");
    w.key("dims");
    w.value(t.dimension);
    w.key("index");
    w.value(true);
    w.key("similarity");
    w.value("l2_norm");
    w.endObject();
    return;
  }
  // OpenSearch's vector type lives in a plugin; a plain numeric array is always accepted.
  field(w, *t.params.at(0), server);
}

void field(JsonWriter& w, const CqlType& t, const es::ServerInfo& server) {
  switch (t.kind) {
    case TypeKind::kAscii:
    case TypeKind::kVarchar:
      w.beginObject();
      w.key("type");
      w.value("text");
      w.key("fields");
      w.beginObject();
      w.key("keyword");
      w.beginObject();
      w.key("type");
      w.value("keyword");
      w.key("ignore_above");
      w.value(std::int64_t{256});
      w.endObject();
      w.endObject();
      w.endObject();
      return;
    case TypeKind::kBoolean:
      typeOnly(w, "boolean");
      return;
    case TypeKind::kTinyint:
      typeOnly(w, "byte");
      return;
    case TypeKind::kSmallint:
      typeOnly(w, "short");
      return;
    case TypeKind::kInt:
      typeOnly(w, "integer");
      return;
    case TypeKind::kBigint:
    case TypeKind::kCounter:
      typeOnly(w, "long");
      return;
    case TypeKind::kFloat:
      typeOnly(w, "float");
      return;
    case TypeKind::kDouble:
      typeOnly(w, "double");
      return;
    case TypeKind::kTimestamp:
    case TypeKind::kDate:
      typeOnly(w, "date");
      return;
    case TypeKind::kInet:
      typeOnly(w, "ip");
      return;
    case TypeKind::kBlob:
    case TypeKind::kCustom:
      typeOnly(w, "binary");
      return;
    case TypeKind::kVarint:
    case TypeKind::kDecimal:
    case TypeKind::kTime:
    case TypeKind::kUuid:
    case TypeKind::kTimeuuid:
      typeOnly(w, "keyword");
      return;
    case TypeKind::kDuration:
      w.beginObject();
      w.key("properties");
      w.beginObject();
      w.key("months");
      typeOnly(w, "integer");
      w.key("days");
      typeOnly(w, "integer");
      w.key("nanoseconds");
      typeOnly(w, "long");
      w.endObject();
      w.endObject();
      return;
    case TypeKind::kList:
    case TypeKind::kSet:
      field(w, *t.params.at(0), server);
      return;
    case TypeKind::kVector:
      vectorField(w, t, server);
      return;
    case TypeKind::kMap:
      mapField(w, server);
      return;
    case TypeKind::kTuple:
      // A tuple is an array of mixed types: scalars are indexed together as keywords; anything
      // deeper is kept in the source only.
      if (std::all_of(t.params.begin(), t.params.end(),
                      [](const auto& p) { return isScalar(*p); })) {
        typeOnly(w, "keyword");
      } else {
        sourceOnly(w);
      }
      return;
    case TypeKind::kUdt:
      w.beginObject();
      w.key("properties");
      w.beginObject();
      for (std::size_t i = 0; i < t.field_names.size() && i < t.params.size(); ++i) {
        w.key(t.field_names[i]);
        field(w, *t.params[i], server);
      }
      w.endObject();
      w.endObject();
      return;
  }
  typeOnly(w, "keyword");
}

}  // namespace

std::string deriveMapping(const std::vector<cql::ColumnSpec>& columns,
                          const MappingOptions& options) {
  std::string out;
  JsonWriter w(out);
  w.beginObject();
  w.key("properties");
  w.beginObject();
  for (const auto& column : columns) {
    w.key(column.name);
    const bool is_key = std::find(options.key_columns.begin(), options.key_columns.end(),
                                  column.name) != options.key_columns.end();
    // Key columns are looked up and sorted by exact value: text keys are keywords, not text.
    if (is_key &&
        (column.type->kind == TypeKind::kVarchar || column.type->kind == TypeKind::kAscii)) {
      typeOnly(w, "keyword");
    } else {
      field(w, *column.type, options.server);
    }
  }
  if (!options.id_field.empty()) {
    w.key(options.id_field);
    typeOnly(w, "keyword");
  }
  if (!options.token_field.empty()) {
    w.key(options.token_field);
    typeOnly(w, "long");
  }
  w.endObject();
  w.endObject();
  return out;
}

}  // namespace cesync::sync
