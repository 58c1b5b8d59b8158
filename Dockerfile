# syntax=docker/dockerfile:1
# Image of the inference service. TORCH_BACKEND selects the TorchSharp backend and the runtime base:
#   docker build -t multilingual-service:cuda .                               (GPU hosts, default)
#   docker build -t multilingual-service:cpu --build-arg TORCH_BACKEND=cpu .
# x86-64 only: the libtorch NuGet packages are linux-x64. Models are not baked in: mount them at
# /models (read-only). The LRP2 language-vector cache lives on the volume /var/cache/lrp2.
ARG TORCH_BACKEND=cuda

# ---- build: restore and publish ----
# TorchSharp-cuda-linux pulls libtorch-cuda-12.8-linux-x64 (several GB) from nuget.org.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TORCH_BACKEND
WORKDIR /src
# Project files first, so that the (large) restore layer is reused until a dependency changes.
COPY Directory.Build.props Directory.Build.targets Directory.Packages.props ./
COPY build/ build/
COPY src/Contracts/Contracts.csproj src/Contracts/
COPY src/Inference/Inference.csproj src/Inference/
COPY src/Plotting/Plotting.csproj src/Plotting/
COPY src/Api/Api.csproj src/Api/
RUN dotnet restore src/Api/Api.csproj -r linux-x64 -p:TorchBackend=$TORCH_BACKEND
COPY src/ src/
# -r linux-x64 keeps only the Linux native libraries. The GLIBCXX patch that runs after publish
# (Directory.Build.targets) looks at THIS stage's libstdc++; it is Ubuntu 24.04 here (GCC 14), so
# the patch does not run, and the runtime stages below must have GLIBCXX_3.4.32 too (checked there).
RUN dotnet publish src/Api/Api.csproj -c Release -r linux-x64 --self-contained false --no-restore \
      -p:TorchBackend=$TORCH_BACKEND -o /app

# ---- runtime for TORCH_BACKEND=cpu: Microsoft's ASP.NET Core image (Ubuntu 24.04 for .NET 10) ----
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime-cpu

# ---- runtime for TORCH_BACKEND=cuda: NVIDIA's CUDA 12.8 runtime on Ubuntu 24.04 ----
# CUDA 12.8 is what TorchSharp 0.107's libtorch-cuda package is built for. That package ships
# cudart, cuBLAS, cuDNN and NVRTC but not cuFFT, cuRAND, cuSOLVER or cuSPARSE, hence the
# "runtime" flavour rather than "base". Host: an NVIDIA driver for CUDA 12.8 (R570 or newer).
FROM nvidia/cuda:12.8.1-runtime-ubuntu24.04 AS runtime-cuda
# ASP.NET Core: the runtime of Microsoft's aspnet:10.0 image (same Ubuntu release, same version as
# the cpu variant, no install script), plus the packages Microsoft's runtime-deps:10.0-noble adds.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libicu74 libssl3t64 tzdata tzdata-legacy \
 && rm -rf /var/lib/apt/lists/*
COPY --from=mcr.microsoft.com/dotnet/aspnet:10.0 /usr/share/dotnet /usr/share/dotnet
# The same non-root user (uid 1654, "app") as Microsoft's images, so volumes behave alike.
ENV APP_UID=1654 DOTNET_RUNNING_IN_CONTAINER=true
RUN ln -s /usr/share/dotnet/dotnet /usr/bin/dotnet \
 && groupadd --gid=$APP_UID app \
 && useradd --no-log-init --uid=$APP_UID --gid=$APP_UID --create-home app

# ---- final: the runtime stage chosen by TORCH_BACKEND ----
FROM runtime-${TORCH_BACKEND} AS final
# curl for HEALTHCHECK; a font for the labels of the `lrp2` heat maps (slim base images may ship
# none for SkiaSharp to find). Then fail the image build, not the first request, if libstdc++ is
# older than GCC 13: libLibTorchSharp.so needs GLIBCXX_3.4.32 and was not patched (see the build stage).
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
RUN grep -q GLIBCXX_3.4.32 /usr/lib/x86_64-linux-gnu/libstdc++.so.6 \
 || { echo "libstdc++ lacks GLIBCXX_3.4.32: TorchSharp will not load on this base image" >&2; exit 1; }
WORKDIR /app
# Owned by root, so the service cannot modify its own binaries.
COPY --from=build /app ./
# /models is a read-only bind mount (compose.yaml); the cache directory belongs to the app user,
# and a new named volume mounted there takes over that ownership.
RUN mkdir -p /models /var/cache/lrp2 && chown $APP_UID:$APP_UID /var/cache/lrp2
VOLUME /var/cache/lrp2
# ASPNETCORE_HTTP_PORTS (8080 in Microsoft's image) is cleared so Kestrel does not warn that URLS overrides it.
ENV ASPNETCORE_URLS=http://+:8080 \
    ASPNETCORE_HTTP_PORTS= \
    Projection__CacheDirectory=/var/cache/lrp2
USER $APP_UID
EXPOSE 8080
# /health/ready answers 503 while the models load (minutes for large checkpoints).
HEALTHCHECK --interval=15s --timeout=5s --start-period=5m --retries=3 \
  CMD curl -fsS -o /dev/null http://127.0.0.1:8080/health/ready || exit 1
ENTRYPOINT ["dotnet", "Service.Api.dll"]
