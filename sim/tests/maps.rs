//! Tiled map loading: shipped maps and malformed files.

mod common;

use common::shipped_map;
use glam::IVec2;
use sim::{MapError, TileMap};

#[test]
fn shipped_office_loads() {
    let map = shipped_map("office");
    assert_eq!((map.width(), map.height()), (40, 30));
    assert!(map.is_blocked(IVec2::new(0, 0)), "outer wall");
    assert!(
        map.is_blocked(IVec2::new(4, 14)),
        "a desk (blocked tile property)"
    );
    assert!(!map.is_blocked(IVec2::new(1, 1)));
    assert_eq!(map.spawns().len(), 18);
    assert!(map.spawns().iter().all(|s| !map.is_blocked(*s)));
}

#[test]
fn shipped_campus_loads() {
    let map = shipped_map("campus");
    assert_eq!((map.width(), map.height()), (512, 512));
    assert!(map.spawns().len() > 500);
    let walkable = map.walkable_count() as f64 / (512.0 * 512.0);
    assert!(
        walkable > 0.8,
        "campus must leave room for 100k avatars: {walkable}"
    );
}

fn tiny(layer_extra: &str, objects: &str) -> String {
    format!(
        r#"{{"orientation":"orthogonal","width":3,"height":2,"tilewidth":16,"tileheight":16,
        "tilesets":[{{"firstgid":1,"tiles":[{{"id":1,"properties":[{{"name":"blocked","type":"bool","value":true}}]}}]}}],
        "layers":[{{"type":"tilelayer","name":"ground","width":3,"height":2,"data":[1,2,1,1,1,1]}}{layer_extra},
        {{"type":"objectgroup","name":"spawns","objects":[{objects}]}}]}}"#
    )
}

#[test]
fn collision_layer_tile_properties_and_spawn_rectangles() {
    let collision =
        r#",{"type":"tilelayer","name":"Collision","width":3,"height":2,"data":[0,0,0,0,0,1]}"#;
    let map =
        TileMap::from_tiled_json(&tiny(collision, r#"{"x":0,"y":16,"width":32,"height":16}"#))
            .unwrap();
    assert!(
        map.is_blocked(IVec2::new(1, 0)),
        "gid 2 has the blocked property"
    );
    assert!(map.is_blocked(IVec2::new(2, 1)), "collision layer");
    assert!(!map.is_blocked(IVec2::new(0, 0)));
    assert_eq!(map.spawns(), &[IVec2::new(0, 1), IVec2::new(1, 1)]);
}

#[test]
fn base64_zlib_layers_decode() {
    use base64::Engine as _;
    use std::io::Write as _;
    let gids: Vec<u8> = [1u32, 2, 1, 1, 1, 1]
        .iter()
        .flat_map(|g| g.to_le_bytes())
        .collect();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(&gids).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(z.finish().unwrap());
    let json = tiny("", r#"{"x":8,"y":8,"point":true}"#).replace(
        r#""data":[1,2,1,1,1,1]"#,
        &format!(r#""encoding":"base64","compression":"zlib","data":"{data}""#),
    );
    let map = TileMap::from_tiled_json(&json).unwrap();
    assert!(map.is_blocked(IVec2::new(1, 0)));
    assert_eq!(map.spawns(), &[IVec2::ZERO]);
}

#[test]
fn malformed_maps_are_typed_errors() {
    let ok_spawn = r#"{"x":8,"y":8}"#;
    type Case = (String, fn(&MapError) -> bool);
    let cases: Vec<Case> = vec![
        ("not json".into(), |e| matches!(e, MapError::Json(_))),
        ("{}".into(), |e| matches!(e, MapError::Json(_))),
        (tiny("", ok_spawn).replace("orthogonal", "isometric"), |e| {
            matches!(e, MapError::UnsupportedOrientation(_))
        }),
        (
            tiny("", ok_spawn).replace(
                r#""width":3,"height":2,"tilewidth""#,
                r#""infinite":true,"width":3,"height":2,"tilewidth""#,
            ),
            |e| *e == MapError::Infinite,
        ),
        (
            tiny("", ok_spawn).replace(
                r#""width":3,"height":2,"tilewidth""#,
                r#""width":100000,"height":100000,"tilewidth""#,
            ),
            |e| matches!(e, MapError::BadSize { .. }),
        ),
        (
            tiny("", ok_spawn).replace("[1,2,1,1,1,1]", "[1,2,1]"),
            |e| matches!(e, MapError::LayerSize { found: 3, .. }),
        ),
        (
            tiny("", ok_spawn).replace("[1,2,1,1,1,1]", r#"[1,2,1,1,1,"x"]"#),
            |e| matches!(e, MapError::BadLayerData { .. }),
        ),
        (
            tiny("", ok_spawn).replace(
                r#""data":[1,2,1,1,1,1]"#,
                r#""encoding":"base64","compression":"zstd","data":"AAAA""#,
            ),
            |e| matches!(e, MapError::BadLayerData { .. }),
        ),
        (
            tiny("", ok_spawn).replace(
                r#""data":[1,2,1,1,1,1]"#,
                r#""encoding":"base64","data":"!!!""#,
            ),
            |e| matches!(e, MapError::BadLayerData { .. }),
        ),
        (
            tiny("", ok_spawn).replace(r#""firstgid":1,"#, r#""firstgid":1,"source":"tiles.tsx","#),
            |e| matches!(e, MapError::ExternalTileset(_)),
        ),
        (tiny("", ""), |e| *e == MapError::NoSpawnPoints),
        (tiny("", r#"{"x":900,"y":8}"#), |e| {
            matches!(
                e,
                MapError::BadSpawn {
                    what: "outside the map",
                    ..
                }
            )
        }),
        (tiny("", r#"{"x":20,"y":8}"#), |e| {
            matches!(
                e,
                MapError::BadSpawn {
                    what: "on a blocked tile",
                    ..
                }
            )
        }),
    ];
    for (json, expected) in cases {
        let err = TileMap::from_tiled_json(&json).expect_err(&json);
        assert!(expected(&err), "unexpected error {err:?} for {json}");
        assert!(!err.to_string().is_empty());
    }
}
