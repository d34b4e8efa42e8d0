# What every demo config shares: the synthetic shapes data
# (res2net_mm/datasets/synthetic.py) and the plugin imports. The data is
# generated into shapes_root on first use by `type='res2net_mm.ShapesDataset'`;
# all demos use the same generator parameters, so they share one copy (other
# parameters would regenerate the folder).
custom_imports = dict(imports=['res2net_mm', 'res2net_mm.demo'],
                      allow_failed_imports=False)

shapes_root = 'data/shapes/'  # relative to the repository root
shapes_data = dict(num_train=1000, num_val=100, image_size=192, seed=0)
shapes_classes = ('circle', 'square', 'triangle', 'star', 'cross')
shapes_palette = [(0, 0, 0), (230, 25, 75), (60, 180, 75), (255, 225, 25),
                  (0, 130, 200), (245, 130, 48)]  # background first
# mmpose metainfo of the keypoint class (the star), relative to the repo.
shapes_keypoint_metainfo = 'res2net_mm/datasets/shapes_keypoint_metainfo.py'
