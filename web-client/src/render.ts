// Canvas 2D renderer: tile layers, avatars with name labels, a camera that follows the player.
// The backing store is sized in device pixels (devicePixelRatio) and follows the element's
// size, so the world stays crisp on HiDPI screens and after window resizes.

import { GID_MASK, type WorldMap } from './map';
import type { Dir, Vec } from './types';

export interface Sprite {
  id: string;
  name: string;
  /** Tile coordinates (fractional while moving). */
  pos: Vec;
  facing: Dir | null;
  avatar: number;
  self?: boolean;
  near?: boolean;
}

export interface Camera {
  /** World pixel at the centre of the view. */
  x: number;
  y: number;
}

const AVATAR_SIZE = 32;

export class Renderer {
  private ctx: CanvasRenderingContext2D;
  private dpr = 1;
  /** CSS pixel size of the canvas. */
  width = 0;
  height = 0;
  camera: Camera = { x: 0, y: 0 };
  zoom = 1;
  /** Tile the pointer is over, highlighted. */
  hover: Vec | null = null;
  /** Click-to-walk goal, drawn as a marker. */
  goal: Vec | null = null;

  constructor(
    private canvas: HTMLCanvasElement,
    private map: WorldMap,
    private tileImages: Map<string, HTMLImageElement>,
    private avatars: HTMLImageElement | null,
  ) {
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('canvas 2D is not available');
    this.ctx = ctx;
    this.resize();
  }

  /** Matches the backing store to the element size × devicePixelRatio. */
  resize(): void {
    const rect = this.canvas.getBoundingClientRect();
    this.dpr = window.devicePixelRatio || 1;
    this.width = Math.max(1, rect.width);
    this.height = Math.max(1, rect.height);
    const w = Math.round(this.width * this.dpr);
    const h = Math.round(this.height * this.dpr);
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
  }

  get devicePixelRatio(): number {
    return this.dpr;
  }

  /** Centres the camera on a tile position, clamped so the view stays on the map. */
  follow(pos: Vec): void {
    const tw = this.map.tileWidth * this.zoom;
    const th = this.map.tileHeight * this.zoom;
    const worldW = this.map.width * tw;
    const worldH = this.map.height * th;
    const cx = (pos.x + 0.5) * tw;
    const cy = (pos.y + 0.5) * th;
    const clamp = (v: number, view: number, world: number) =>
      world <= view ? world / 2 : Math.min(world - view / 2, Math.max(view / 2, v));
    this.camera = { x: clamp(cx, this.width, worldW), y: clamp(cy, this.height, worldH) };
  }

  /** The tile under a point in CSS pixels relative to the canvas. */
  tileAt(px: number, py: number): Vec {
    const wx = px - this.width / 2 + this.camera.x;
    const wy = py - this.height / 2 + this.camera.y;
    return {
      x: Math.floor(wx / (this.map.tileWidth * this.zoom)),
      y: Math.floor(wy / (this.map.tileHeight * this.zoom)),
    };
  }

  /** Screen position (CSS px) of a tile's top-left corner. */
  screenOf(pos: Vec): Vec {
    return {
      x: pos.x * this.map.tileWidth * this.zoom - this.camera.x + this.width / 2,
      y: pos.y * this.map.tileHeight * this.zoom - this.camera.y + this.height / 2,
    };
  }

  draw(sprites: Sprite[]): void {
    const { ctx, map } = this;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.imageSmoothingEnabled = false;
    ctx.fillStyle = '#1d1f27';
    ctx.fillRect(0, 0, this.width, this.height);
    const tw = map.tileWidth * this.zoom;
    const th = map.tileHeight * this.zoom;
    const ox = Math.round(this.width / 2 - this.camera.x);
    const oy = Math.round(this.height / 2 - this.camera.y);
    const x0 = Math.max(0, Math.floor(-ox / tw));
    const y0 = Math.max(0, Math.floor(-oy / th));
    const x1 = Math.min(map.width, Math.ceil((this.width - ox) / tw));
    const y1 = Math.min(map.height, Math.ceil((this.height - oy) / th));
    for (const layer of map.layers) {
      if (!layer.visible) continue;
      ctx.globalAlpha = layer.opacity;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const gid = layer.gids[y * map.width + x] & GID_MASK;
          if (gid === 0) continue;
          const ts = map.tilesetFor(gid);
          const img = ts && this.tileImages.get(ts.image);
          const dx = ox + x * tw;
          const dy = oy + y * th;
          if (!ts || !img || !img.complete || img.naturalWidth === 0) {
            ctx.fillStyle = map.isBlocked(x, y) ? '#4a4d5a' : '#d8cba8';
            ctx.fillRect(dx, dy, tw, th);
            continue;
          }
          const local = gid - ts.firstgid;
          const sx = ts.margin + (local % ts.columns) * (ts.tileWidth + ts.spacing);
          const sy = ts.margin + Math.floor(local / ts.columns) * (ts.tileHeight + ts.spacing);
          ctx.drawImage(img, sx, sy, ts.tileWidth, ts.tileHeight, dx, dy, tw, th);
        }
      }
    }
    ctx.globalAlpha = 1;
    if (this.goal) {
      ctx.strokeStyle = 'rgba(255,255,255,0.9)';
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(ox + (this.goal.x + 0.5) * tw, oy + (this.goal.y + 0.5) * th, tw * 0.3, 0, Math.PI * 2);
      ctx.stroke();
    }
    if (this.hover && map.inside(this.hover.x, this.hover.y)) {
      ctx.strokeStyle = map.isBlocked(this.hover.x, this.hover.y) ? 'rgba(255,80,80,0.7)' : 'rgba(255,255,255,0.5)';
      ctx.lineWidth = 1;
      ctx.strokeRect(ox + this.hover.x * tw + 0.5, oy + this.hover.y * th + 0.5, tw - 1, th - 1);
    }
    // Avatars, back to front, then labels on top of every avatar.
    const sorted = [...sprites].sort((a, b) => a.pos.y - b.pos.y || a.pos.x - b.pos.x);
    for (const s of sorted) this.drawAvatar(s, ox, oy, tw, th);
    const placed: { x: number; y: number; w: number }[] = [];
    // Own label first so it never moves; others step up when they would overlap.
    for (const s of [...sorted].sort((a, b) => Number(!!b.self) - Number(!!a.self))) this.drawLabel(s, ox, oy, tw, placed);
  }

  private drawAvatar(s: Sprite, ox: number, oy: number, tw: number, th: number): void {
    const { ctx } = this;
    const x = ox + s.pos.x * tw;
    const y = oy + s.pos.y * th;
    if (s.near || s.self) {
      ctx.fillStyle = s.self ? 'rgba(255,255,255,0.35)' : 'rgba(80,220,120,0.45)';
      ctx.beginPath();
      ctx.ellipse(x + tw / 2, y + th * 0.88, tw * 0.45, th * 0.16, 0, 0, Math.PI * 2);
      ctx.fill();
    }
    // Avatar 0 is "none chosen": vary the sprite by entity so players are told apart.
    const avatar = s.avatar === 0 ? Number(BigInt(s.id) % 8n) : s.avatar;
    const row = ((avatar % 8) + 8) % 8;
    const col = s.facing ?? 2;
    if (this.avatars && this.avatars.complete && this.avatars.naturalWidth > 0) {
      ctx.drawImage(this.avatars, col * AVATAR_SIZE, row * AVATAR_SIZE, AVATAR_SIZE, AVATAR_SIZE, x, y, tw, th);
    } else {
      ctx.fillStyle = `hsl(${row * 45}, 60%, 55%)`;
      ctx.beginPath();
      ctx.arc(x + tw / 2, y + th / 2, tw * 0.35, 0, Math.PI * 2);
      ctx.fill();
    }
  }

  private drawLabel(s: Sprite, ox: number, oy: number, tw: number, placed: { x: number; y: number; w: number }[]): void {
    const { ctx } = this;
    const th = this.map.tileHeight * this.zoom;
    const cx = ox + (s.pos.x + 0.5) * tw;
    let top = oy + s.pos.y * th - 4;
    ctx.font = '600 12px system-ui, sans-serif';
    ctx.textAlign = 'center';
    ctx.textBaseline = 'bottom';
    const text = s.name || '?';
    const w = ctx.measureText(text).width + 10;
    const overlaps = () => placed.some((p) => Math.abs(p.x - cx) < (p.w + w) / 2 + 2 && Math.abs(p.y - top) < 17);
    for (let i = 0; i < 4 && overlaps(); i++) top -= 17;
    placed.push({ x: cx, y: top, w });
    ctx.fillStyle = s.self ? 'rgba(40,90,200,0.85)' : s.near ? 'rgba(30,130,70,0.85)' : 'rgba(20,20,28,0.7)';
    roundRect(ctx, cx - w / 2, top - 16, w, 16, 8);
    ctx.fill();
    ctx.fillStyle = '#fff';
    ctx.fillText(text, cx, top - 2);
  }
}

function roundRect(ctx: CanvasRenderingContext2D, x: number, y: number, w: number, h: number, r: number): void {
  ctx.beginPath();
  ctx.moveTo(x + r, y);
  ctx.arcTo(x + w, y, x + w, y + h, r);
  ctx.arcTo(x + w, y + h, x, y + h, r);
  ctx.arcTo(x, y + h, x, y, r);
  ctx.arcTo(x, y, x + w, y, r);
  ctx.closePath();
}
