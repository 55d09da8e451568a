"""PyInstaller runtime hook: pyqtgraph imports PySide6.QtOpenGL / QtOpenGLWidgets at start-up
only to define its optional OpenGL paths (PColorMeshItem's GL renderer, GraphicsViewGLWidget),
which DescentLab never enables. The bundle leaves out those bindings and Qt libraries (~10 MB);
stand-in modules let `import pyqtgraph` succeed. Outside the bundle nothing changes."""

import sys
import types

try:
    import PySide6.QtOpenGL
    import PySide6.QtOpenGLWidgets  # noqa: F401
except ImportError:
    from PySide6 import QtWidgets

    gl = types.ModuleType("PySide6.QtOpenGL")
    gl_widgets = types.ModuleType("PySide6.QtOpenGLWidgets")
    gl_widgets.QOpenGLWidget = QtWidgets.QWidget  # only subclassed, never shown
    sys.modules["PySide6.QtOpenGL"] = gl
    sys.modules["PySide6.QtOpenGLWidgets"] = gl_widgets
