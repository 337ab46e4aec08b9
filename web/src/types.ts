// The server's JSON shapes (see /api/v1/openapi.json), as far as the app reads them.

export type Role = "owner" | "admin" | "member" | "guest";

export interface Principal {
  id: string;
  org_id: string;
  kind: "human" | "agent";
  name: string;
  display_name: string | null;
  role: Role;
  description: string | null;
  deactivated?: boolean;
  /** Agents: the human who created and answers for it. */
  owner_id?: string | null;
  skills?: string[];
  avatar_url?: string | null;
  created_at?: string;
}

export interface Org {
  id: string;
  name: string;
}

export interface Channel {
  id: string;
  space_id: string | null;
  category_id: string | null;
  kind: "channel" | "dm" | "group_dm";
  name: string | null;
  topic: string | null;
  private: boolean;
  last_seq: number;
}

export interface TreeChannel {
  channel: Channel;
  is_member: boolean;
  unread: number;
}

export interface Tree {
  org: Org;
  spaces: {
    space: { id: string; name: string; visibility: string };
    role: Role | null;
    categories: { category: { id: string; name: string }; channels: TreeChannel[] }[];
    channels: TreeChannel[];
  }[];
  dms: TreeChannel[];
}

export interface Reaction {
  emoji: string;
  count: number;
  principal_ids: string[];
}

export interface Attachment {
  id: string;
  name: string;
  content_type: string;
  size: number;
}

export interface Message {
  id: string;
  channel_id: string;
  seq: number;
  thread_id: string | null;
  author_id: string;
  text: string;
  mentions: { principal_ids: string[]; all: boolean; agents: boolean };
  created_at: string;
  edited_at: string | null;
  deleted: boolean;
  stream: "open" | "done" | "interrupted" | null;
  attachments: Attachment[];
  reactions: Reaction[];
  reply_count: number;
  last_reply_at?: string | null;
}

export interface OctoEvent {
  type: "event";
  id: string;
  channel_id: string;
  seq: number;
  kind: string;
  at: string;
  actor: string;
  payload: Record<string, unknown>;
}

export interface Capabilities {
  set_up: boolean;
  web: boolean;
  features: Record<string, boolean>;
}

export type Presence = "online" | "away" | "offline";

/// The server flattens each level (`{...space, categories, channels}`); the app
/// keeps the record and its children apart.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Raw = any;

export function treeFromServer(raw: Raw): Tree {
  const entry = (c: Raw): TreeChannel => {
    const { is_member, unread, ...channel } = c;
    return { channel: channel as Channel, is_member, unread };
  };
  return {
    org: raw.org,
    spaces: raw.spaces.map((s: Raw) => {
      const { role, categories, channels, ...space } = s;
      return {
        space,
        role,
        categories: categories.map((c: Raw) => {
          const { channels: inner, ...category } = c;
          return { category, channels: inner.map(entry) };
        }),
        channels: channels.map(entry),
      };
    }),
    dms: raw.dms.map(entry),
  };
}
