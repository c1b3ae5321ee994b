/**
 * The FileDescriptorProtos gRPC reflection serves, one per .proto file as protoc would write
 * them. proto-loader's own (what @grpc/reflection reads by default) merge each package into one
 * made-up file ("nnserve_v1.proto"), name fields in camelCase, leave out imports
 * (google.protobuf.Timestamp had no dependency) and name map entries in a way protobuf's
 * descriptor pool refuses: strict clients (Python's protobuf, grpcurl) could not use them.
 * Built here from protobufjs's parse of the same files, keeping the source's field names.
 */
import protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor/index.js";

// FieldDescriptorProto.Type and .Label numbers.
const SCALAR_TYPES: Record<string, number> = {
  double: 1,
  float: 2,
  int64: 3,
  uint64: 4,
  int32: 5,
  fixed64: 6,
  fixed32: 7,
  bool: 8,
  string: 9,
  bytes: 12,
  uint32: 13,
  sfixed32: 15,
  sfixed64: 16,
  sint32: 17,
  sint64: 18,
};
const TYPE_MESSAGE = 11;
const TYPE_ENUM = 14;
const LABEL_OPTIONAL = 1;
const LABEL_REPEATED = 3;

const fullName = (object: protobuf.ReflectionObject) => object.fullName; // ".pkg.Name"
const camel = (name: string) => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const pascal = (name: string) => {
  const c = camel(name);
  return c.charAt(0).toUpperCase() + c.slice(1);
};

interface Context {
  /** The file being described, and the files its types come from. */
  file: string;
  dependencies: Set<string>;
  fileOf: (object: protobuf.ReflectionObject) => string;
}

function typeOf(field: protobuf.Field, ctx: Context, type = field.type) {
  const scalar = SCALAR_TYPES[type];
  if (scalar !== undefined) return { type: scalar };
  const resolved = field.parent?.lookupTypeOrEnum(type) as protobuf.Type | protobuf.Enum;
  const from = ctx.fileOf(resolved);
  if (from !== ctx.file) ctx.dependencies.add(from);
  return {
    type: resolved instanceof protobuf.Enum ? TYPE_ENUM : TYPE_MESSAGE,
    typeName: fullName(resolved),
  };
}

function describeMessage(type: protobuf.Type, ctx: Context): Record<string, unknown> {
  const fields: Record<string, unknown>[] = [];
  const nested: Record<string, unknown>[] = [];
  const oneofs = type.oneofsArray;
  for (const field of type.fieldsArray) {
    const base = { name: field.name, number: field.id, jsonName: camel(field.name) };
    if (field instanceof protobuf.MapField) {
      const entry = `${pascal(field.name)}Entry`;
      nested.push({
        name: entry,
        field: [
          {
            name: "key",
            number: 1,
            label: LABEL_OPTIONAL,
            jsonName: "key",
            ...typeOf(field, ctx, field.keyType),
          },
          {
            name: "value",
            number: 2,
            label: LABEL_OPTIONAL,
            jsonName: "value",
            ...typeOf(field, ctx),
          },
        ],
        options: { mapEntry: true },
      });
      fields.push({
        ...base,
        label: LABEL_REPEATED,
        type: TYPE_MESSAGE,
        typeName: `${fullName(type)}.${entry}`,
      });
      continue;
    }
    const oneofIndex = field.partOf ? oneofs.indexOf(field.partOf) : -1;
    fields.push({
      ...base,
      label: field.repeated ? LABEL_REPEATED : LABEL_OPTIONAL,
      ...typeOf(field, ctx),
      ...(oneofIndex >= 0 ? { oneofIndex } : {}),
      ...(field.options?.proto3_optional ? { proto3Optional: true } : {}),
    });
  }
  for (const inner of type.nestedArray) {
    if (inner instanceof protobuf.Type) nested.push(describeMessage(inner, ctx));
  }
  return {
    name: type.name,
    field: fields,
    nestedType: nested,
    enumType: type.nestedArray.filter((n) => n instanceof protobuf.Enum).map(describeEnum),
    oneofDecl: oneofs.map((o) => ({ name: o.name })),
  };
}

function describeEnum(e: protobuf.ReflectionObject): Record<string, unknown> {
  const values = (e as protobuf.Enum).values;
  return {
    name: e.name,
    value: Object.entries(values).map(([name, number]) => ({ name, number })),
  };
}

function describeService(service: protobuf.Service, ctx: Context): Record<string, unknown> {
  return {
    name: service.name,
    method: service.methodsArray.map((m) => {
      m.resolve();
      for (const t of [m.resolvedRequestType!, m.resolvedResponseType!]) {
        const from = ctx.fileOf(t);
        if (from !== ctx.file) ctx.dependencies.add(from);
      }
      return {
        name: m.name,
        inputType: fullName(m.resolvedRequestType!),
        outputType: fullName(m.resolvedResponseType!),
        ...(m.requestStream ? { clientStreaming: true } : {}),
        ...(m.responseStream ? { serverStreaming: true } : {}),
      };
    }),
  };
}

/**
 * Encoded FileDescriptorProtos for `files` and every file they import, named by their path
 * under the include directories, as a reflection client asks for them.
 */
export function fileDescriptorProtos(files: readonly string[], includeDirs: readonly string[]) {
  const root = new protobuf.Root();
  const relative = new Map<string, string>();
  root.resolvePath = (_origin, target) => {
    for (const dir of includeDirs) {
      const path = `${dir.replace(/\/$/, "")}/${target}`;
      if (protobuf.util.fs?.existsSync?.(path)) {
        relative.set(path, target);
        return path;
      }
    }
    return target;
  };
  root.loadSync([...files], { keepCase: true });
  root.resolveAll();
  // protobufjs's bundled google/protobuf types have no file of their own.
  const fileOf = (object: protobuf.ReflectionObject): string => {
    if (object.filename) return relative.get(object.filename) ?? object.filename;
    const full = object.fullName.slice(1);
    if (full.startsWith("google.protobuf.")) {
      const name = full.slice("google.protobuf.".length).toLowerCase();
      return `google/protobuf/${name}.proto`;
    }
    return object.parent ? fileOf(object.parent) : "";
  };

  const byFile = new Map<string, protobuf.ReflectionObject[]>();
  const collect = (ns: protobuf.NamespaceBase) => {
    for (const child of ns.nestedArray) {
      if (
        child instanceof protobuf.Type ||
        child instanceof protobuf.Enum ||
        child instanceof protobuf.Service
      ) {
        const file = fileOf(child);
        byFile.set(file, [...(byFile.get(file) ?? []), child]);
      } else if (child instanceof protobuf.Namespace) collect(child);
    }
  };
  collect(root);

  const out: Uint8Array[] = [];
  for (const [file, objects] of byFile) {
    const ctx: Context = { file, dependencies: new Set(), fileOf };
    const pkg = objects[0]!.parent!.fullName.slice(1);
    const proto = {
      name: file,
      package: pkg,
      messageType: objects
        .filter((o) => o instanceof protobuf.Type)
        .map((t) => describeMessage(t as protobuf.Type, ctx)),
      enumType: objects.filter((o) => o instanceof protobuf.Enum).map(describeEnum),
      service: objects
        .filter((o) => o instanceof protobuf.Service)
        .map((s) => describeService(s as protobuf.Service, ctx)),
      syntax: "proto3",
    };
    const withDeps = { ...proto, dependency: [...ctx.dependencies].sort() };
    out.push(
      descriptor.FileDescriptorProto.encode(
        descriptor.FileDescriptorProto.fromObject(withDeps),
      ).finish(),
    );
  }
  return out;
}
