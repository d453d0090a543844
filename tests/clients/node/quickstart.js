// Node quickstart: a segment definition, two profiles, a segment job run to its end, the job read
// back. Usage: node quickstart.js [HOST:PORT]   (run from the repository root: it loads proto/)
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const address = process.argv[2] ?? "127.0.0.1:50051";
const definition = protoLoader.loadSync(
  ["segmentation/v1/segment_definitions.proto", "segmentation/v1/profiles.proto",
   "segmentation/v1/segment_jobs.proto"],
  { includeDirs: ["proto"], longs: String, enums: String, defaults: true },
);
const v1 = grpc.loadPackageDefinition(definition).segmentation.v1;
const credentials = grpc.credentials.createInsecure();
const definitions = new v1.SegmentDefinitionService(address, credentials);
const profiles = new v1.ProfileService(address, credentials);
const jobs = new v1.SegmentJobService(address, credentials);

// The tenant travels as metadata, the same headers as AEP's REST API.
const tenant = new grpc.Metadata();
tenant.set("x-gw-ims-org-id", "DEMO@AdobeOrg");
tenant.set("x-sandbox-name", "prod");

// A unary call as a promise.
const call = (client, method, request) =>
  new Promise((resolve, reject) =>
    client[method](request, tenant, (error, response) => (error ? reject(error) : resolve(response))));

async function main() {
  const { segmentDefinition } = await call(definitions, "CreateSegmentDefinition", {
    segmentDefinition: {
      name: `Node quickstart ${Date.now()}`, // names are unique per sandbox
      expression: { value: 'personalEmail.address.endsWith("@node.example", false)' },
    },
  });
  console.log("definition", segmentDefinition.id);

  const people = ["ada@node.example", "linus@elsewhere.example"];
  await call(profiles, "UpsertProfiles", {
    records: people.map((email) =>
      JSON.stringify({ identityMap: { Email: [{ id: email }] }, personalEmail: { address: email } })),
  });

  let { segmentJob: job } = await call(jobs, "CreateSegmentJob", { segmentIds: [segmentDefinition.id] });
  const ended = ["JOB_STATUS_SUCCEEDED", "JOB_STATUS_FAILED", "JOB_STATUS_CANCELLED"];
  while (!ended.includes(job.status)) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    ({ segmentJob: job } = await call(jobs, "GetSegmentJob", { id: job.id }));
  }
  const counter = job.metrics.segmentedProfileCounter[segmentDefinition.id] ?? "0";
  console.log("job", job.id, job.status, "members:", counter);
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error.message);
    process.exit(1);
  },
);
