"""DECODE-RAPL's v4.1 model in PyTorch: the one definition every reference script builds.

Module names are the state_dict names vrapl uses (docs/model-format.md): encoder.cnn.* (Conv1d,
BatchNorm1d, ReLU per channel, then MaxPool1d), encoder.mlp.* (Linear -> 128, ReLU, Dropout, Linear ->
latent) and power_head.network.* (Linear, ReLU, Dropout per hidden layer, then Linear -> 1). Layers are
built in that order, so torch.manual_seed(s) before Model(...) gives the same initial weights as the
scripts that once spelled the model out themselves. The defaults are v4.1's full size (4 features x
25 steps, channels [32, 64], kernel 5, pool 2, latent 64, head [128, 64], dropout 0.3).
"""
from torch import nn


class Encoder(nn.Module):
    def __init__(self, features=4, length=25, channels=(32, 64), kernel=5, pool=2, latent=64, dropout=0.3):
        super().__init__()
        self.features, self.length = features, length
        layers, c_in = [], features
        for c in channels:
            layers += [nn.Conv1d(c_in, c, kernel, padding=kernel // 2), nn.BatchNorm1d(c), nn.ReLU()]
            c_in = c
        layers.append(nn.MaxPool1d(pool))
        self.cnn = nn.Sequential(*layers)
        self.mlp = nn.Sequential(nn.Linear(c_in * (length // pool), 128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, latent))

    def forward(self, x):
        # The window vector is feature-major: [batch, F*L] (or already [batch, F, L]) -> [batch, F, L].
        return self.mlp(self.cnn(x.reshape(x.shape[0], self.features, self.length)).flatten(1))


class PowerHead(nn.Module):
    def __init__(self, latent=64, layers=(128, 64), dropout=0.3):
        super().__init__()
        mods, n_in = [], latent
        for w in layers:
            mods += [nn.Linear(n_in, w), nn.ReLU(), nn.Dropout(dropout)]
            n_in = w
        mods.append(nn.Linear(n_in, 1))
        self.network = nn.Sequential(*mods)

    def forward(self, z):
        return self.network(z).squeeze(-1)


class Model(nn.Module):
    def __init__(self, features=4, length=25, channels=(32, 64), kernel=5, pool=2, latent=64, head=(128, 64), dropout=0.3):
        super().__init__()
        self.encoder = Encoder(features, length, channels, kernel, pool, latent, dropout)
        self.power_head = PowerHead(latent, head, dropout)

    def forward(self, x):
        """Package power, W: [batch]."""
        return self.power_head(self.encoder(x))

    def forward_with_latent(self, x):
        """(power [batch], latent [batch, latent])."""
        z = self.encoder(x)
        return self.power_head(z), z
