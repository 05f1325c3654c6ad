// Subscribes to a Mantle master's operator event stream with the npm package
// @dcos/mesos-client (an independent Mesos v1 client) and prints one line per
// event: "EVENT <TYPE>" (plus the task state for TASK_UPDATED and the task id
// for TASK_ADDED). Usage: node operator_stream_client.js http://HOST:PORT SECONDS
//
// The client needs a browser XMLHttpRequest; this minimal one over Node's
// http module delivers the body as it arrives ('progress' events), which is
// what the client's RecordIO reader expects.
"use strict";
const http = require("http");

class XMLHttpRequest {
  constructor() {
    this.listeners = {};
    this.response = "";
    this.responseText = "";
    this.responseType = "";
    this.status = 0;
    this.readyState = 0;
    this.timeout = 0;
    this.headers = {};
  }
  addEventListener(type, fn) {
    (this.listeners[type] = this.listeners[type] || []).push(fn);
  }
  dispatch(type) {
    (this.listeners[type] || []).forEach((fn) => fn({ type }));
  }
  open(method, url) {
    this.method = method;
    this.url = new URL(url);
    this.readyState = 1;
  }
  setRequestHeader(name, value) {
    this.headers[name] = value;
  }
  send(body) {
    const options = {
      method: this.method,
      hostname: this.url.hostname,
      port: this.url.port,
      path: this.url.pathname + this.url.search,
      headers: this.headers,
    };
    this.request = http.request(options, (res) => {
      this.status = res.statusCode;
      this.readyState = 3;
      res.setEncoding("utf8");
      res.on("data", (chunk) => {
        this.response += chunk;
        this.responseText = this.response;
        this.dispatch("progress");
      });
      res.on("end", () => {
        this.readyState = 4;
        this.dispatch("load");
      });
    });
    this.request.on("error", () => this.dispatch("error"));
    if (body) this.request.write(body);
    this.request.end();
  }
  abort() {
    if (this.request) this.request.destroy();
    this.dispatch("abort");
  }
}
global.XMLHttpRequest = XMLHttpRequest;

const { stream } = require("@dcos/mesos-client");
const base = process.argv[2];
const seconds = Number(process.argv[3] || 30);

stream({ type: "SUBSCRIBE" }, base + "/api/v1").subscribe(
  (record) => {
    const event = JSON.parse(record);
    let line = "EVENT " + event.type;
    if (event.type === "TASK_ADDED") line += " " + event.task_added.task.task_id.value;
    if (event.type === "TASK_UPDATED") line += " " + event.task_updated.status.task_id.value + " " + event.task_updated.state;
    console.log(line);
  },
  (error) => {
    console.log("ERROR " + JSON.stringify(error && (error.message || error.code || error)));
    process.exit(2);
  },
  () => console.log("COMPLETE")
);
setTimeout(() => process.exit(0), seconds * 1000);
