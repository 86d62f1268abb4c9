// Signs requests with Akamai's Node signer (npm "akamai-edgegrid") and sends them over plain
// HTTP to the emulator; used by tests/test_emulator_fidelity.py as an independent client.
//
//   node edgegrid_node_client.js <node_modules dir>  < spec.json  > results.json
//
// spec: {host, client_token, client_secret, access_token, path, body, timestamp_offset,
//        repeat}. The signer only speaks https://, so the request says X-Forwarded-Proto:
//        https (the emulator verifies the scheme the client signed). "repeat" sends the same
//        signed request (same nonce and timestamp) that many times.
"use strict";
const fs = require("fs");
const http = require("http");
const path = require("path");

const EdgeGrid = require(path.join(process.argv[2], "akamai-edgegrid"));
const spec = JSON.parse(fs.readFileSync(0, "utf8"));

function signed() {
  const realNow = Date.now;
  Date.now = () => realNow() + (spec.timestamp_offset || 0) * 1000;
  try {
    const eg = new EdgeGrid(spec.client_token, spec.client_secret, spec.access_token, spec.host);
    eg.auth({
      path: spec.path,
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: spec.body,
    });
    return eg.request.headers.Authorization;
  } finally {
    Date.now = realNow;
  }
}

function send(authorization) {
  const [hostname, port] = spec.host.split(":");
  const body = Buffer.from(spec.body, "utf8");
  return new Promise((resolve, reject) => {
    const request = http.request(
      {
        hostname,
        port: Number(port),
        path: spec.path,
        method: "POST",
        headers: {
          Authorization: authorization,
          "Content-Type": "application/json",
          "Content-Length": body.length,
          "X-Forwarded-Proto": "https",
        },
      },
      (response) => {
        const chunks = [];
        response.on("data", (chunk) => chunks.push(chunk));
        response.on("end", () =>
          resolve({
            status: response.statusCode,
            headers: response.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          })
        );
      }
    );
    request.on("error", reject);
    request.end(body);
  });
}

(async () => {
  const authorization = signed();
  const results = [];
  for (let i = 0; i < (spec.repeat || 1); i++) {
    results.push(await send(authorization));
  }
  process.stdout.write(JSON.stringify(results));
})().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error));
  process.exit(1);
});
