// Tiled JSON maps: decoding tile layers (CSV arrays or base64, optionally zlib/gzip) and the
// collision grid, with the same rules as the server's `sim::tiled` module:
// - a tile is blocked when any non-empty tile of a layer named `collision` (any case), or of a
//   layer with a bool property `collides`/`blocked`/`collision`, lies on it;
// - or when, in any tile layer, its gid's tileset entry has a bool property `blocked`/`collides`.
// Spawn points: objects of a layer named `spawns`, or of type/class `spawn`.

/** Tiled stores flip flags in the top bits of a gid. */
export const GID_MASK = 0x0fffffff;

export interface TiledProperty {
  name: string;
  type?: string;
  value: unknown;
}

export interface TiledLayer {
  type: string;
  name?: string;
  data?: number[] | string;
  encoding?: string;
  compression?: string;
  properties?: TiledProperty[];
  objects?: { type?: string; class?: string; x: number; y: number; width?: number; height?: number }[];
  layers?: TiledLayer[];
  visible?: boolean;
  opacity?: number;
}

export interface TiledTileset {
  firstgid: number;
  name?: string;
  image?: string;
  imagewidth?: number;
  imageheight?: number;
  tilewidth?: number;
  tileheight?: number;
  tilecount?: number;
  columns?: number;
  margin?: number;
  spacing?: number;
  source?: string;
  tiles?: { id: number; type?: string; properties?: TiledProperty[] }[];
}

export interface TiledMap {
  width: number;
  height: number;
  tilewidth: number;
  tileheight: number;
  orientation?: string;
  infinite?: boolean;
  layers: TiledLayer[];
  tilesets: TiledTileset[];
}

/** A decoded tile layer: one gid per cell, row-major. */
export interface TileLayer {
  name: string;
  gids: Uint32Array;
  visible: boolean;
  opacity: number;
}

/** A tileset as the renderer needs it. */
export interface Tileset {
  firstgid: number;
  /** Image file name (basename), served under `/assets/tiles/`. */
  image: string;
  tileWidth: number;
  tileHeight: number;
  columns: number;
  tileCount: number;
  margin: number;
  spacing: number;
}

/** A map ready for rendering and path finding. */
export class WorldMap {
  constructor(
    readonly width: number,
    readonly height: number,
    readonly tileWidth: number,
    readonly tileHeight: number,
    readonly layers: TileLayer[],
    readonly tilesets: Tileset[],
    /** 1 = blocked, row-major. */
    readonly blocked: Uint8Array,
    readonly spawns: { x: number; y: number }[],
  ) {}

  inside(x: number, y: number): boolean {
    return x >= 0 && y >= 0 && x < this.width && y < this.height;
  }

  isBlocked(x: number, y: number): boolean {
    return !this.inside(x, y) || this.blocked[y * this.width + x] === 1;
  }

  /** The tileset a (masked) gid belongs to. */
  tilesetFor(gid: number): Tileset | undefined {
    let found: Tileset | undefined;
    for (const ts of this.tilesets) {
      if (ts.firstgid <= gid && (!found || ts.firstgid > found.firstgid)) found = ts;
    }
    return found;
  }
}

function flagSet(props: TiledProperty[] | undefined, names: string[]): boolean {
  return (props ?? []).some(
    (p) => names.some((n) => p.name.toLowerCase() === n) && p.value === true,
  );
}

function base64ToBytes(text: string): Uint8Array {
  const clean = text.trim();
  if (typeof atob === 'function') {
    const bin = atob(clean);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  throw new Error('no base64 decoder available');
}

/** Inflates zlib ("deflate" stream format) or gzip data with the platform's DecompressionStream. */
export async function inflate(bytes: Uint8Array, compression: string): Promise<Uint8Array> {
  if (compression === '') return bytes;
  const format = compression === 'zlib' ? 'deflate' : compression === 'gzip' ? 'gzip' : null;
  if (!format) throw new Error(`unsupported compression ${JSON.stringify(compression)}`);
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream(format));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** Decodes one tile layer's data to gids. */
export async function decodeLayer(layer: TiledLayer, cells: number): Promise<Uint32Array> {
  const name = layer.name ?? '';
  let gids: Uint32Array;
  if (Array.isArray(layer.data) && (layer.encoding === undefined || layer.encoding === 'csv')) {
    gids = Uint32Array.from(layer.data, (v) => {
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`layer ${name}: ${v} is not a tile id`);
      return v;
    });
  } else if (typeof layer.data === 'string' && layer.encoding === 'base64') {
    const bytes = await inflate(base64ToBytes(layer.data), layer.compression ?? '');
    if (bytes.length % 4 !== 0) throw new Error(`layer ${name}: ${bytes.length} bytes is not whole tiles`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    gids = new Uint32Array(bytes.length / 4);
    for (let i = 0; i < gids.length; i++) gids[i] = view.getUint32(i * 4, true);
  } else if (typeof layer.data === 'string' && layer.encoding === 'csv') {
    gids = Uint32Array.from(layer.data.split(',').map((s) => Number(s.trim())));
  } else {
    throw new Error(`layer ${name}: unsupported data encoding ${JSON.stringify(layer.encoding)}`);
  }
  if (gids.length !== cells) throw new Error(`layer ${name}: expected ${cells} tiles, found ${gids.length}`);
  return gids;
}

function basename(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1];
}

/** Parses a Tiled JSON map (already `JSON.parse`d) into a [`WorldMap`]. */
export async function loadTiledMap(raw: TiledMap): Promise<WorldMap> {
  if ((raw.orientation ?? 'orthogonal') !== 'orthogonal') throw new Error('only orthogonal maps are supported');
  if (raw.infinite) throw new Error('infinite maps are not supported');
  const { width, height } = raw;
  const cells = width * height;
  const blockingGids = new Set<number>();
  const tilesets: Tileset[] = [];
  for (const ts of raw.tilesets ?? []) {
    if (ts.source) throw new Error(`external tileset ${ts.source} is not supported`);
    for (const tile of ts.tiles ?? []) {
      if (flagSet(tile.properties, ['blocked', 'collides'])) blockingGids.add(ts.firstgid + tile.id);
    }
    if (ts.image) {
      const tw = ts.tilewidth ?? raw.tilewidth;
      const columns = ts.columns ?? Math.floor((ts.imagewidth ?? tw) / tw);
      tilesets.push({
        firstgid: ts.firstgid,
        image: basename(ts.image),
        tileWidth: tw,
        tileHeight: ts.tileheight ?? raw.tileheight,
        columns,
        tileCount: ts.tilecount ?? columns * Math.floor((ts.imageheight ?? 0) / (ts.tileheight ?? raw.tileheight)),
        margin: ts.margin ?? 0,
        spacing: ts.spacing ?? 0,
      });
    }
  }
  const blocked = new Uint8Array(cells);
  const layers: TileLayer[] = [];
  const spawns: { x: number; y: number }[] = [];
  const visit = async (layer: TiledLayer): Promise<void> => {
    if (layer.type === 'tilelayer') {
      const gids = await decodeLayer(layer, cells);
      const name = layer.name ?? '';
      const collision =
        name.toLowerCase() === 'collision' || flagSet(layer.properties, ['collides', 'blocked', 'collision']);
      for (let i = 0; i < cells; i++) {
        const gid = gids[i] & GID_MASK;
        if (gid !== 0 && (collision || blockingGids.has(gid))) blocked[i] = 1;
      }
      // A collision layer is data, not scenery.
      if (!collision) layers.push({ name, gids, visible: layer.visible !== false, opacity: layer.opacity ?? 1 });
    } else if (layer.type === 'objectgroup') {
      const all = (layer.name ?? '').toLowerCase() === 'spawns';
      for (const o of layer.objects ?? []) {
        if (all || o.type === 'spawn' || o.class === 'spawn') {
          spawns.push({ x: Math.floor(o.x / raw.tilewidth), y: Math.floor(o.y / raw.tileheight) });
        }
      }
    } else if (layer.type === 'group') {
      for (const child of layer.layers ?? []) await visit(child);
    }
  };
  for (const layer of raw.layers ?? []) await visit(layer);
  return new WorldMap(width, height, raw.tilewidth, raw.tileheight, layers, tilesets, blocked, spawns);
}
