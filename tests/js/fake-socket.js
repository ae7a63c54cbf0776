// A WebSocket that a test drives by hand, for the client library's logic
// without a server: it records what the client sends, and the test plays
// the server's part (welcome, answers, closes). The latest one made is
// FakeSocket.last.
export class FakeSocket {
  static last = null;
  static count = 0;
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.readyState = 0;
    FakeSocket.last = this;
    FakeSocket.count += 1;
  }
  send(text) {
    this.sent.push(JSON.parse(text));
  }
  close(code = 1000, reason = '') {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.onclose?.({ code: code === 1000 ? 1000 : 1006, reason, wasClean: code === 1000 }));
  }
  // Test side:
  welcome(id = 'w.1', user = undefined) {
    this.readyState = 1;
    this.onopen?.({});
    this.onmessage?.({ data: JSON.stringify({ type: 'welcome', id, node: 'n', worker: 0, user }) });
  }
  answer(frame) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  serverClose(code, reason = '') {
    this.readyState = 3;
    this.onclose?.({ code, reason, wasClean: code !== 1006 });
  }
}
