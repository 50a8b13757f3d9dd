namespace LoraBake.Networks;

/// <summary>
/// The adapter kinds the colab offers: <c>LoRA</c> (kohya <c>networks.lora</c>, attention and
/// projection layers only), <c>LoCon</c> (<c>networks.lora</c> with <c>conv_dim</c>: also the
/// ResNet and up/down-sampler layers) and <c>LoHa</c> (LyCORIS <c>algo=loha</c>, same layers as LoCon).
/// </summary>
public enum NetworkType
{
    LoRA,
    LoCon,
    LoHa,
}
