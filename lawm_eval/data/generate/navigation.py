"""RECON-style navigation clips: a camera on a mobile base drives through a textured MuJoCo scene.

One fixed outdoor-like scene (textured ground, walls, coloured obstacles; seeded by ``scene_seed``).
Each trajectory follows a unicycle (forward speed, turn rate) that changes every 1–2 s and turns away
from obstacles and walls; poses (x, y, yaw) and 64×64 forward-camera frames are recorded at 4 fps
and written in NWM's layout (numbered jpgs + traj_data.pkl). Deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lawm_eval.extras import require_extra
from lawm_eval.util.rendering import prepare_offscreen_rendering

FPS = 4
DT = 1.0 / FPS
ARENA = 6.0  # half side of the square arena (m)
CAMERA_HEIGHT = 0.35


@dataclass
class NavigationConfig:
    frames: int = 40
    image_size: int = 64
    scene_seed: int = 0
    obstacles: int = 40


def obstacle_layout(config: NavigationConfig) -> list[tuple[float, float, float, str, tuple]]:
    rng = np.random.default_rng(config.scene_seed)
    layout = []
    while len(layout) < config.obstacles:
        x, y = rng.uniform(-ARENA + 1, ARENA - 1, 2)
        r = float(rng.uniform(0.15, 0.45))
        if np.hypot(x, y) < 1.0 or any(np.hypot(x - ox, y - oy) < r + orr + 0.6 for ox, oy, orr, *_ in layout):
            continue
        kind = "box" if rng.random() < 0.5 else "cylinder"
        colour = tuple(float(c) for c in rng.uniform(0.1, 0.95, 3))
        layout.append((float(x), float(y), r, kind, colour))
    return layout


def scene_xml(config: NavigationConfig) -> str:
    size = config.image_size
    geoms = []
    for i, (x, y, r, kind, (cr, cg, cb)) in enumerate(obstacle_layout(config)):
        height = 0.3 + (i % 4) * 0.25
        shape = f'type="box" size="{r:.3f} {r:.3f} {height:.3f}"' if kind == "box" else \
            f'type="cylinder" size="{r:.3f} {height:.3f}"'
        geoms.append(f'<geom {shape} pos="{x:.3f} {y:.3f} {height:.3f}" rgba="{cr:.3f} {cg:.3f} {cb:.3f} 1"/>')
    walls = []
    for i, (x, y, sx, sy) in enumerate([(ARENA, 0, 0.1, ARENA), (-ARENA, 0, 0.1, ARENA),
                                       (0, ARENA, ARENA, 0.1), (0, -ARENA, ARENA, 0.1)]):
        walls.append(f'<geom type="box" size="{sx} {sy} 0.8" pos="{x} {y} 0.8" material="wall{i}"/>')
    wall_assets = "".join(
        f'<texture name="wall{i}" type="2d" builtin="checker" width="256" height="256" '
        f'rgb1="{0.5 + 0.1 * i:.2f} {0.35 + 0.05 * i:.2f} 0.3" rgb2="0.8 0.8 {0.6 + 0.1 * i:.2f}"/>'
        f'<material name="wall{i}" texture="wall{i}" texuniform="true" texrepeat="{1 + 0.5 * i:.1f} 1"/>'
        for i in range(4))
    return f"""
<mujoco model="lawm_navigation">
  <visual>
    <global offwidth="{size}" offheight="{size}"/>
    <quality shadowsize="0"/>
    <headlight ambient="0.45 0.45 0.45" diffuse="0.5 0.5 0.5" specular="0 0 0"/>
  </visual>
  <asset>
    <texture name="sky" type="skybox" builtin="gradient" rgb1="0.65 0.75 0.9" rgb2="0.25 0.35 0.55" width="256" height="256"/>
    <texture name="ground" type="2d" builtin="checker" rgb1="0.32 0.38 0.28" rgb2="0.45 0.48 0.36" width="512" height="512"
             mark="random" random="0.08" markrgb="0.55 0.55 0.45"/>
    <material name="ground" texture="ground" texuniform="true" texrepeat="1 1"/>
    {wall_assets}
  </asset>
  <worldbody>
    <light directional="true" pos="0 0 5" dir="-0.3 -0.2 -1" diffuse="0.6 0.6 0.6"/>
    <geom type="plane" size="{ARENA + 1} {ARENA + 1} 0.1" material="ground"/>
    {''.join(walls)}
    {''.join(geoms)}
    <body name="robot" mocap="true" pos="0 0 {CAMERA_HEIGHT}">
      <camera name="front" pos="0 0 0" xyaxes="0 -1 0 0 0 1" fovy="90"/>
    </body>
  </worldbody>
</mujoco>"""


class NavigationScene:
    def __init__(self, config: NavigationConfig):
        require_extra("sim", "the navigation data generator")
        prepare_offscreen_rendering()
        import mujoco

        self.config = config
        self.model = mujoco.MjModel.from_xml_string(scene_xml(config))
        self.data = mujoco.MjData(self.model)
        self.renderer = mujoco.Renderer(self.model, config.image_size, config.image_size)
        self.obstacles = [(x, y, r) for x, y, r, *_ in obstacle_layout(config)]

    def render(self, x: float, y: float, yaw: float) -> np.ndarray:
        import mujoco

        self.data.mocap_pos[0] = (x, y, CAMERA_HEIGHT)
        self.data.mocap_quat[0] = (np.cos(yaw / 2), 0.0, 0.0, np.sin(yaw / 2))
        mujoco.mj_forward(self.model, self.data)
        self.renderer.update_scene(self.data, camera="front")
        return self.renderer.render().copy()

    def blocked(self, x: float, y: float, margin: float = 0.35) -> bool:
        if abs(x) > ARENA - 0.5 or abs(y) > ARENA - 0.5:
            return True
        return any(np.hypot(x - ox, y - oy) < r + margin for ox, oy, r in self.obstacles)

    def close(self) -> None:
        self.renderer.close()


def drive(scene: NavigationScene, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A unicycle path: positions (T,2) and yaws (T,) at 4 fps."""
    rng = np.random.default_rng(seed)
    while True:
        x, y = rng.uniform(-ARENA + 2, ARENA - 2, 2)
        if not scene.blocked(x, y, margin=0.6):
            break
    yaw = rng.uniform(-np.pi, np.pi)
    positions, yaws = [(x, y)], [yaw]
    speed = turn = 0.0
    for t in range(1, scene.config.frames):
        if t % int(rng.integers(4, 9)) == 1 or t == 1:
            speed, turn = rng.uniform(0.25, 0.6), rng.uniform(-0.7, 0.7)
        ahead = (x + np.cos(yaw) * 0.9, y + np.sin(yaw) * 0.9)
        s, w = (0.1, 1.2 * np.sign(turn or 1.0)) if scene.blocked(*ahead) else (speed, turn)
        yaw = (yaw + w * DT + np.pi) % (2 * np.pi) - np.pi
        nx, ny = x + s * DT * np.cos(yaw), y + s * DT * np.sin(yaw)
        if not scene.blocked(nx, ny, margin=0.25):
            x, y = nx, ny
        positions.append((x, y))
        yaws.append(yaw)
    return np.asarray(positions), np.asarray(yaws)


def generate_navigation(out: str | Path, trajectories: int, seed: int = 0, config: NavigationConfig | None = None,
                        progress: bool = True) -> Path:
    """Write ``trajectories`` (trajectory i seeded with seed + i) in NWM's layout at ``out``."""
    from lawm_eval.data.recon import write_trajectory
    from lawm_eval.util.progress import progress_bar

    scene = NavigationScene(config or NavigationConfig())
    out = Path(out)
    bar = progress_bar(trajectories, "on" if progress else "off", desc="trajectories")
    try:
        for i in range(trajectories):
            positions, yaws = drive(scene, seed + i)
            frames = np.stack([scene.render(x, y, yaw) for (x, y), yaw in zip(positions, yaws)])
            write_trajectory(out / f"traj_{seed + i:05d}", frames, positions, yaws)
            bar.update(1)
    finally:
        bar.close()
        scene.close()
    return out
