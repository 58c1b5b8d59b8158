// Validates Kubernetes objects against the API schemas that kubernetes-models ships (generated
// from Kubernetes' OpenAPI document) and KEDA's CRD schema (@kubernetes-models/keda).
// stdin: a JSON array of objects (the rendered kustomization); stdout: a JSON array with, per
// object, its kind, name and the schema errors (empty when valid). Exit code 0 unless the input
// itself cannot be read.
import { readFileSync } from "node:fs";

const packages = { "keda.sh": "@kubernetes-models/keda" };

async function modelFor(apiVersion, kind) {
  const group = apiVersion.includes("/") ? apiVersion.split("/")[0] : "";
  const module = `${packages[group] ?? "kubernetes-models"}/${apiVersion}`;
  try {
    return (await import(module))[kind];
  } catch {
    return undefined;
  }
}

const objects = JSON.parse(readFileSync(0, "utf8"));
const results = [];
for (const object of objects) {
  const { apiVersion = "", kind = "", metadata = {} } = object ?? {};
  const result = { kind, name: metadata.name ?? "", errors: [] };
  const Model = apiVersion && kind ? await modelFor(apiVersion, kind) : undefined;
  if (!Model) {
    result.errors.push(`no schema for apiVersion '${apiVersion}' kind '${kind}'`);
  } else {
    try {
      new Model(object).validate();
    } catch (error) {
      const details = error.errors?.map((e) => `${e.instancePath || "/"} ${e.message}`) ?? [String(error.message ?? error)];
      result.errors.push(...details);
    }
  }
  results.push(result);
}
process.stdout.write(JSON.stringify(results));
