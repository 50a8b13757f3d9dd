using LoraBake.Models;
using LoraBake.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace LoraBake.Models.UNet;

/// <summary>
/// diffusers' UNet2DConditionModel for SD 1.x: predicts noise from a latent, a timestep and text hidden states.
/// Field names equal diffusers' state-dict keys, so <c>named_parameters()</c> is the diffusers key set.
/// <code>
/// sample → conv_in ─┬→ down_blocks[0] ─┬→ … → down_blocks[L-1] → mid_block → up_blocks[0] → … → up_blocks[L-1]
///                   └ skip ────────────┴─ skips (concatenated, last first) ─────────────────┘
///        → conv_norm_out → SiLU → conv_out;   timesteps → time_proj → time_embedding → every resnet
/// </code>
/// Computes in the dtype of its weights (float32 or bfloat16); inputs are cast to it.
/// </summary>
public sealed class UNet2DConditionModel : nn.Module<Tensor, Tensor, Tensor, Tensor>
{
    private readonly GuardedConv2d conv_in;
    private readonly Timesteps time_proj;
    private readonly TimestepEmbedding time_embedding;
    private readonly ModuleList<UNetDownBlock> down_blocks;
    private readonly UNetMidBlock2DCrossAttn mid_block;
    private readonly ModuleList<UNetUpBlock> up_blocks;
    private readonly GroupNorm conv_norm_out;
    private readonly GuardedConv2d conv_out;

    public UNetConfig Config { get; }

    /// <param name="device">Where to create the parameters (null: the default device; `meta` for shape-only models).</param>
    /// <param name="dtype">Parameter dtype (null: the default, float32).</param>
    public UNet2DConditionModel(UNetConfig config, Device? device = null, ScalarType? dtype = null)
        : base(nameof(UNet2DConditionModel))
    {
        config.Validate();
        Config = config;
        var ch = config.BlockOutChannels;
        int levels = config.Levels, temb = config.TimeEmbedDim, groups = config.NormNumGroups, heads = config.NumHeads;
        double eps = config.NormEps;

        conv_in = new GuardedConv2d(config.InChannels, ch[0], 3, stride: 1, padding: 1, device: device, dtype: dtype);
        time_proj = new Timesteps(ch[0], flipSinToCos: true, freqShift: 0);
        time_embedding = new TimestepEmbedding(ch[0], temb, device, dtype);

        var down = new List<UNetDownBlock>();
        for (int i = 0; i < levels; i++)
        {
            int input = i == 0 ? ch[0] : ch[i - 1];
            bool addDownsample = i < levels - 1;
            down.Add(config.CrossAttention[i]
                ? new CrossAttnDownBlock2D(input, ch[i], temb, config.LayersPerBlock, addDownsample, groups, eps, heads,
                    config.CrossAttentionDim, config.TransformerDepth, device, dtype)
                : new DownBlock2D(input, ch[i], temb, config.LayersPerBlock, addDownsample, groups, eps, device, dtype));
        }
        down_blocks = nn.ModuleList(down.ToArray());

        mid_block = new UNetMidBlock2DCrossAttn(ch[levels - 1], temb, groups, eps, config.MidBlockCrossAttention, heads,
            config.CrossAttentionDim, config.TransformerDepth, device, dtype);

        var up = new List<UNetUpBlock>();
        for (int i = 0; i < levels; i++)
        {
            int level = levels - 1 - i;                      // up block i mirrors down block `level`
            int output = ch[level];
            int prevOutput = ch[Math.Min(level + 1, levels - 1)];
            int input = ch[Math.Max(level - 1, 0)];
            bool addUpsample = i < levels - 1;
            up.Add(config.CrossAttention[level]
                ? new CrossAttnUpBlock2D(input, prevOutput, output, temb, config.LayersPerBlock + 1, addUpsample, groups, eps,
                    heads, config.CrossAttentionDim, config.TransformerDepth, device, dtype)
                : new UpBlock2D(input, prevOutput, output, temb, config.LayersPerBlock + 1, addUpsample, groups, eps, device, dtype));
        }
        up_blocks = nn.ModuleList(up.ToArray());

        conv_norm_out = GroupNorms.Create(groups, ch[0], eps, device, dtype);
        conv_out = new GuardedConv2d(ch[0], config.OutChannels, 3, stride: 1, padding: 1, device: device, dtype: dtype);
        RegisterComponents();
    }

    /// <summary>
    /// kohya's <c>gradient_checkpointing</c>: every resnet and transformer block recomputes its forward in backward
    /// instead of keeping its activations (less memory, about one more forward of time).
    /// </summary>
    public bool GradientCheckpointing
    {
        get => modules().OfType<ResnetBlock2D>().Any(r => r.GradientCheckpointing);
        set
        {
            foreach (var m in modules())
            {
                if (m is ResnetBlock2D resnet) resnet.GradientCheckpointing = value;
                else if (m is Transformer2DModel transformer) transformer.GradientCheckpointing = value;
            }
        }
    }

    /// <summary>
    /// The dtype the model computes in: that of its weights, or wider where Linear and Conv2d weights are held narrower
    /// (<see cref="Numerics.WidenedWeights"/>); the norms' weights are never narrowed, so they tell.
    /// </summary>
    public ScalarType Dtype => conv_norm_out.weight!.dtype;

    /// <param name="sample">Noisy latents [B, in, H, W]; any H, W.</param>
    /// <param name="timesteps">[B] or a scalar, int64 or floating point.</param>
    /// <param name="encoderHiddenStates">Text encoder output [B, tokens, cross_attention_dim].</param>
    /// <returns>Noise prediction [B, out, H, W] in the weights' dtype.</returns>
    public override Tensor forward(Tensor sample, Tensor timesteps, Tensor encoderHiddenStates)
    {
        using var scope = NewDisposeScope();
        var dtype = Dtype;
        var device = conv_in.weight!.device;
        long batch = sample.shape[0];
        var x = sample.to(dtype, device);
        var context = encoderHiddenStates.to(dtype, device);

        // 1. time: sinusoidal features in float32, then the learned embedding in the model's dtype.
        var t = timesteps.to(device);
        if (t.dim() == 0) t = t.unsqueeze(0);
        t = t.expand(batch);
        var emb = time_embedding.call(time_proj.call(t).to(dtype));

        // 2. down path, keeping every skip
        x = conv_in.call(x);
        var skips = new List<Tensor> { x };
        foreach (var block in down_blocks)
        {
            (x, var blockSkips) = block.forward(x, emb, context);
            skips.AddRange(blockSkips);
        }

        // 3. middle
        x = mid_block.call(x, emb, context);

        // 4. up path: each block takes as many skips from the end as it has resnets
        foreach (var block in up_blocks)
        {
            int n = block.ResnetCount;
            var blockSkips = skips.GetRange(skips.Count - n, n);
            skips.RemoveRange(skips.Count - n, n);
            long[]? upsampleSize = skips.Count > 0 ? [skips[^1].shape[2], skips[^1].shape[3]] : null;
            x = block.forward(x, blockSkips, emb, context, upsampleSize);
        }

        // 5. out
        x = conv_out.call(nn.functional.silu(conv_norm_out.Routed(x)));
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Builds the UNet that <paramref name="stateDict"/>'s shapes describe (see <see cref="UNetConfig.Infer"/>) and
    /// loads it. The tensors are copied; the caller still owns and disposes them.
    /// </summary>
    public static UNet2DConditionModel FromDiffusersStateDict(IReadOnlyDictionary<string, Tensor> stateDict, int numHeads = 8,
        int normNumGroups = 32, double normEps = 1e-5, Device? device = null, ScalarType? dtype = null,
        string source = "UNet state dict")
    {
        var config = UNetConfig.Infer(UNetConfig.ShapesOf(stateDict), numHeads, normNumGroups, normEps, source);
        var model = new UNet2DConditionModel(config, device, dtype);
        try
        {
            model.LoadDiffusersStateDict(stateDict, source);
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    /// <summary>
    /// Copies a diffusers-layout UNet state dict into this model (cast to the model's dtype and device). Strict: every
    /// parameter must be present with the same shape, and no other key may appear.
    /// </summary>
    /// <param name="source">Where the tensors came from (a file name), for error messages.</param>
    public void LoadDiffusersStateDict(IReadOnlyDictionary<string, Tensor> stateDict, string source = "UNet state dict")
    {
        var own = named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        foreach (var (name, buffer) in named_buffers()) own[name] = buffer;

        var missing = own.Keys.Where(k => !stateDict.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var unexpected = stateDict.Keys.Where(k => !own.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        var wrongShape = own.Where(kv => stateDict.TryGetValue(kv.Key, out var t) && !t.shape.SequenceEqual(kv.Value.shape))
            .Select(kv => $"{kv.Key}: file [{string.Join(", ", stateDict[kv.Key].shape)}], " +
                          $"model [{string.Join(", ", kv.Value.shape)}]")
            .ToList();
        if (missing.Count + unexpected.Count + wrongShape.Count > 0)
        {
            static string List(string title, List<string> items) => items.Count == 0 ? "" :
                $"\n  {title} ({items.Count}): " + string.Join(", ", items.Take(20)) + (items.Count > 20 ? ", …" : "");
            throw new UserError($"{source} does not fit the UNet built from its config " +
                                $"({Config.Levels} levels, channels {string.Join("/", Config.BlockOutChannels)}):" +
                                List("missing", missing) + List("unexpected", unexpected) + List("wrong shape", wrongShape) +
                                "\n  Check that the file is an SD 1.x UNet in diffusers key layout and that the config " +
                                "(head count, levels) matches it.");
        }

        using var noGrad = no_grad();
        foreach (var (name, target) in own) target.copy_(stateDict[name]);
    }
}
