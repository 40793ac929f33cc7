// The verb and nested-type specifications of npm @jambonz/verb-specifications 0.1.13
// (specs.json), as a static C++ table. Pure data plus lookup.
#pragma once
#include <span>
#include <string_view>

namespace dp::core {

// How one property is checked; each kind is one branch of jambonz's validateVerb().
enum class PropKind {
  Array,     // "array": must be a JSON array
  Type,      // "number" | "string" | "object" | "boolean": strict JS typeof; arg = the type
  Union,     // "object|string": typeof in the list (or array if listed); arg = "object,string"
  Enum,      // {type:"string", enum:[...]}: value must be one of; arg = "v1,v2" (no value holds a comma)
  Ref,       // "#name": nested object validated against spec `name`; arg = name
  RefArray,  // ["#name"]: every element validated against spec `name`; arg = name
  BadSpec,   // a spec entry jambonz's own validator rejects (it asserts); arg = its message
};

struct PropSpec {
  std::string_view name;
  PropKind kind;
  std::string_view arg;
};

// A verb (e.g. "dial") or a nested type (e.g. "target"). jambonz keeps both in one map, so a
// nested type name is also accepted as a verb by the validator.
struct TypeSpec {
  std::string_view name;
  std::span<const PropSpec> props;
  std::span<const std::string_view> required;  // in spec order (the error message lists them so)

  const PropSpec* find(std::string_view prop) const;
};

const TypeSpec* find_type_spec(std::string_view name);
std::span<const TypeSpec> all_type_specs();

}  // namespace dp::core
