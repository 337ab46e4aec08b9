// One WebSocket to /api/v1/ws: hello with the token and the last seq seen per
// channel, then events in order. Reconnects with backoff and resumes from the
// cursors, so nothing is missed or doubled across a drop.

import type { OctoEvent } from "./types";

export type Frame =
  | OctoEvent
  | { type: "ready"; principal_id: string }
  | { type: "typing"; channel_id: string; principal_id: string; thread_id: string | null }
  | { type: "presence"; principal_id: string; status: "online" | "away" | "offline" }
  | { type: "subscribed" | "unsubscribed"; channel_id: string }
  | { type: "error"; code: string; message: string }
  | { type: "pong" }
  | { type: "trigger" };

export class Realtime {
  private socket: WebSocket | null = null;
  private cursors: Record<string, number> = {};
  private closed = false;
  private retry = 0;
  private timer: number | undefined;

  constructor(
    private token: string,
    private onFrame: (frame: Frame) => void,
    private onStatus: (connected: boolean) => void,
    /** Where the page's data stands per channel (the tree's last_seq): without
     *  it the server resumes from the account's delivery cursor and replays
     *  events the page already loaded, counting them twice. */
    startAt: Record<string, number> = {},
  ) {
    this.cursors = { ...startAt };
  }

  start() {
    this.closed = false;
    this.connect();
  }

  stop() {
    this.closed = true;
    window.clearTimeout(this.timer);
    const socket = this.socket;
    if (!socket) return;
    socket.onmessage = null;
    socket.onclose = null;
    // Closing before the handshake ends is logged by browsers as an error;
    // let it open, then close it.
    if (socket.readyState === WebSocket.CONNECTING) socket.onopen = () => socket.close(1000);
    else socket.close(1000);
  }

  send(frame: object) {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  private connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/ws`);
    this.socket = socket;
    socket.onopen = () => {
      const hello: Record<string, unknown> = { type: "hello", token: this.token };
      if (Object.keys(this.cursors).length > 0) hello.cursors = this.cursors;
      socket.send(JSON.stringify(hello));
    };
    socket.onmessage = (msg) => {
      let frame: Frame;
      try {
        frame = JSON.parse(String(msg.data)) as Frame;
      } catch {
        return;
      }
      if (frame.type === "ready") {
        this.retry = 0;
        this.onStatus(true);
      }
      if (frame.type === "event") {
        const seen = this.cursors[frame.channel_id] ?? 0;
        if (frame.seq <= seen) return;
        this.cursors[frame.channel_id] = frame.seq;
      }
      this.onFrame(frame);
    };
    socket.onclose = (ev) => {
      this.onStatus(false);
      // 4401: the token is no good any more; retrying won't help.
      if (this.closed || ev.code === 4401) return;
      const delay = Math.min(30_000, 500 * 2 ** this.retry++);
      this.timer = window.setTimeout(() => this.connect(), delay);
    };
  }
}
