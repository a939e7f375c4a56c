"""Training batches for gust-mini: padded ids, next-token targets on the assistant output only, and the images."""
import torch
import mini_template as TPL

def batch(R, dev, n, max_len):
    seqs, masks, imgs = [], [], []
    while len(seqs) < n:
        ids, mask, im = TPL.training_example(R)
        if len(ids) > max_len: continue
        seqs.append(ids); masks.append(mask); imgs.append(im)
    L, pad = max(len(s) for s in seqs), TPL.S["<pad>"]
    x = torch.full((n, L), pad, dtype=torch.long); y = torch.full((n, L), -100, dtype=torch.long)
    for i, (s, m) in enumerate(zip(seqs, masks)):
        x[i, :len(s)] = torch.tensor(s)
        tgt = torch.tensor(s[1:] + [pad]); mm = torch.tensor(m[1:] + [False])
        y[i, :len(s)] = torch.where(mm, tgt, torch.full_like(tgt, -100))
    pix = [im for im in imgs if im is not None]; kw = {}
    if pix:
        H = max(p.shape[0] for p in pix); W = max(p.shape[1] for p in pix)
        pv = torch.zeros(len(pix), 3, H, W)
        for i, p in enumerate(pix): pv[i, :, :p.shape[0], :p.shape[1]] = torch.from_numpy(TPL.pixel_values(p))
        kw = dict(pixel_values=pv.to(dev), image_sizes=torch.tensor([[p.shape[0], p.shape[1]] for p in pix]).to(dev))
    return x.to(dev), y.to(dev), kw
