// Peer-to-peer video and audio with near players. The server says who is near (Proximity)
// and relays signalling (Signal) only between near players; media flows directly between the
// browsers. Of two peers, the one with the lower entity id makes the offer, so both sides never
// offer at once. On "far" (or a hangup) the connection is closed and its tile removed.

import type { SignalKindName } from './protocol';

export interface VideoEvents {
  signal(to: bigint, kind: SignalKindName, payload: string): void;
  changed(): void;
}

interface Peer {
  id: bigint;
  name: string;
  pc: RTCPeerConnection;
  tile: HTMLElement;
  video: HTMLVideoElement | null;
  remoteCandidates: RTCIceCandidateInit[];
  haveRemote: boolean;
}

export class VideoChat {
  private peers = new Map<bigint, Peer>();
  private local: MediaStream | null = null;
  private localPromise: Promise<MediaStream | null> | null = null;
  private localTile: HTMLElement | null = null;
  micOn = true;
  camOn = true;
  /** Why local media is unavailable, if it is. */
  mediaError: string | null = null;
  /** Closed connections, for tests: id → last state. */
  closed = new Map<string, string>();

  constructor(
    private me: () => bigint,
    private container: HTMLElement,
    private events: VideoEvents,
  ) {}

  /** Connection state per peer id (as a string key), for the UI and tests. */
  states(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [id, p] of this.peers) out[id.toString()] = p.pc.connectionState;
    return out;
  }

  private media(): Promise<MediaStream | null> {
    if (!this.localPromise) {
      this.localPromise = (async () => {
        if (!navigator.mediaDevices?.getUserMedia) {
          this.mediaError = 'no media devices';
          return null;
        }
        try {
          const s = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 240 }, audio: true });
          this.local = s;
          s.getAudioTracks().forEach((t) => (t.enabled = this.micOn));
          s.getVideoTracks().forEach((t) => (t.enabled = this.camOn));
          this.showLocal(s);
          return s;
        } catch (e) {
          this.mediaError = (e as Error).name || String(e);
          return null;
        }
      })();
    }
    return this.localPromise;
  }

  private showLocal(s: MediaStream): void {
    if (this.localTile) return;
    const tile = document.createElement('div');
    tile.className = 'video-tile self';
    const v = document.createElement('video');
    v.muted = true;
    v.autoplay = true;
    v.playsInline = true;
    if (s.getTracks().length > 0) v.srcObject = s;
    const label = document.createElement('span');
    label.textContent = 'You';
    tile.append(v, label);
    this.container.prepend(tile);
    this.localTile = tile;
    tile.hidden = this.peers.size === 0;
  }

  /** A player came near: open a connection (the lower id offers). */
  async near(id: bigint, name: string): Promise<void> {
    if (this.peers.has(id)) return;
    const peer = this.create(id, name);
    if (this.me() < id) {
      const stream = await this.media();
      if (this.peers.get(id) !== peer) return;
      this.addTracks(peer, stream);
      const offer = await peer.pc.createOffer();
      await peer.pc.setLocalDescription(offer);
      this.events.signal(id, 'offer', JSON.stringify(peer.pc.localDescription));
    } else {
      void this.media(); // get the camera ready for the answer
    }
  }

  /** A player went far: close the connection. */
  far(id: bigint): void {
    const p = this.peers.get(id);
    if (!p) return;
    this.closed.set(id.toString(), p.pc.connectionState);
    p.pc.close();
    p.tile.remove();
    this.peers.delete(id);
    // The own preview is only shown while in a call (the camera stays open for the next one).
    if (this.localTile) this.localTile.hidden = this.peers.size === 0;
    this.events.changed();
  }

  async signal(from: bigint, kind: SignalKindName, payload: string, name = ''): Promise<void> {
    if (kind === 'hangup') {
      this.far(from);
      return;
    }
    let peer = this.peers.get(from);
    if (kind === 'offer') {
      if (!peer) peer = this.create(from, name);
      const stream = await this.media();
      if (this.peers.get(from) !== peer) return;
      await peer.pc.setRemoteDescription(JSON.parse(payload));
      peer.haveRemote = true;
      this.addTracks(peer, stream);
      const answer = await peer.pc.createAnswer();
      await peer.pc.setLocalDescription(answer);
      this.events.signal(from, 'answer', JSON.stringify(peer.pc.localDescription));
      await this.flushCandidates(peer);
    } else if (kind === 'answer' && peer) {
      await peer.pc.setRemoteDescription(JSON.parse(payload));
      peer.haveRemote = true;
      await this.flushCandidates(peer);
    } else if (kind === 'ice' && peer) {
      const c = JSON.parse(payload) as RTCIceCandidateInit;
      if (peer.haveRemote) await peer.pc.addIceCandidate(c).catch(() => undefined);
      else peer.remoteCandidates.push(c);
    }
  }

  /** Whether the local audio/video tracks are enabled (null: no such track). */
  localTracks(): { audio: boolean | null; video: boolean | null } {
    const a = this.local?.getAudioTracks()[0];
    const v = this.local?.getVideoTracks()[0];
    return { audio: a ? a.enabled : null, video: v ? v.enabled : null };
  }

  setMic(on: boolean): void {
    this.micOn = on;
    this.local?.getAudioTracks().forEach((t) => (t.enabled = on));
    this.events.changed();
  }

  setCam(on: boolean): void {
    this.camOn = on;
    this.local?.getVideoTracks().forEach((t) => (t.enabled = on));
    this.localTile?.classList.toggle('off', !on);
    this.events.changed();
  }

  closeAll(): void {
    for (const id of [...this.peers.keys()]) this.far(id);
  }

  stop(): void {
    this.closeAll();
    this.local?.getTracks().forEach((t) => t.stop());
    this.localTile?.remove();
    this.local = null;
    this.localPromise = null;
    this.localTile = null;
  }

  private create(id: bigint, name: string): Peer {
    const pc = new RTCPeerConnection({ iceServers: [] });
    const tile = document.createElement('div');
    tile.className = 'video-tile';
    tile.dataset.peer = id.toString();
    const label = document.createElement('span');
    label.textContent = name || `#${id}`;
    tile.append(label);
    this.container.append(tile);
    const peer: Peer = { id, name, pc, tile, video: null, remoteCandidates: [], haveRemote: false };
    pc.onicecandidate = (ev) => {
      if (ev.candidate) this.events.signal(id, 'ice', JSON.stringify(ev.candidate.toJSON()));
    };
    pc.ontrack = (ev) => {
      const stream = ev.streams[0] ?? new MediaStream([ev.track]);
      if (!peer.video) {
        const v = document.createElement('video');
        v.autoplay = true;
        v.playsInline = true;
        peer.video = v;
        tile.prepend(v);
      }
      // Only attach a stream that has tracks: an empty one can block the page's load event.
      if (stream.getTracks().length > 0 && peer.video.srcObject !== stream) peer.video.srcObject = stream;
    };
    pc.onconnectionstatechange = () => {
      tile.dataset.state = pc.connectionState;
      this.events.changed();
    };
    this.peers.set(id, peer);
    if (this.localTile) this.localTile.hidden = false;
    this.events.changed();
    return peer;
  }

  private addTracks(peer: Peer, stream: MediaStream | null): void {
    // After applying a remote offer the connection already has (track-less) senders for the
    // offered transceivers: addTrack reuses them, so check for senders *with* a track.
    if (peer.pc.getSenders().some((s) => s.track)) return;
    if (stream && stream.getTracks().length > 0) {
      for (const t of stream.getTracks()) peer.pc.addTrack(t, stream);
    } else if (peer.pc.getTransceivers().length === 0) {
      // No camera and we offer: still receive theirs.
      peer.pc.addTransceiver('audio', { direction: 'recvonly' });
      peer.pc.addTransceiver('video', { direction: 'recvonly' });
    }
  }

  private async flushCandidates(peer: Peer): Promise<void> {
    const list = peer.remoteCandidates;
    peer.remoteCandidates = [];
    for (const c of list) await peer.pc.addIceCandidate(c).catch(() => undefined);
  }
}
